// MemoryEventStore: an EventStore held in memory, for the unit tests of components that
// need a store (aggregator, query service) and as the reference the RocksDB store is checked
// against: it answers every query by brute force over all events, so its answers are the
// definition of right.
//
// Thread safety: all methods are safe to call concurrently (one mutex).
#ifndef KUBETRAIL_STORAGE_MEMORY_EVENT_STORE_H_
#define KUBETRAIL_STORAGE_MEMORY_EVENT_STORE_H_

#include <memory>

#include "storage/event_store.h"

namespace kubetrail::storage {

// Returns an empty in-memory store.
std::unique_ptr<EventStore> NewMemoryEventStore();

}  // namespace kubetrail::storage

#endif  // KUBETRAIL_STORAGE_MEMORY_EVENT_STORE_H_
