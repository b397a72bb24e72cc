// The in-memory store against the EventStore conformance suite (event_store_conformance.h).
#include "storage/memory_event_store.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "storage/event_store.h"
#include "storage/event_store_conformance.h"

namespace kubetrail::storage {
namespace {

INSTANTIATE_TEST_SUITE_P(Memory, EventStoreConformance,
                         ::testing::Values(EventStoreFactory([](const std::string& /*dir*/) {
                           return NewMemoryEventStore();
                         })));

}  // namespace
}  // namespace kubetrail::storage
