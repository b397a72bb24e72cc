// -----------------------------------------------------------------------------
// File: event_store_conformance.h
// -----------------------------------------------------------------------------
//
// EventStoreConformance: the behaviour every EventStore implementation must show, as one
// parameterized GoogleTest suite. An implementation's test file instantiates it with a
// factory; the test bodies live in event_store_conformance.cc and are linked in through the
// kubetrail::storage_conformance object library (test builds only).
//
//   // rocksdb_event_store_test.cc
//   namespace kubetrail::storage {
//   INSTANTIATE_TEST_SUITE_P(RocksDb, EventStoreConformance,
//                            ::testing::Values(EventStoreFactory(
//                                [](const std::string& dir) -> std::unique_ptr<EventStore> {
//                                  RocksDbOptions options;
//                                  options.path = dir + "/db";
//                                  auto store = RocksDbEventStore::Open(options);
//                                  return store.ok() ? *std::move(store) : nullptr;
//                                })));
//   }
//
//   # CMakeLists.txt
//   kubetrail_cc_test(NAME rocksdb_event_store_test SRCS rocksdb_event_store_test.cc
//     DEPS kubetrail::storage kubetrail::storage_conformance)
//
// INSTANTIATE_TEST_SUITE_P takes the suite name unqualified: instantiate inside namespace
// kubetrail::storage (or after `using kubetrail::storage::EventStoreConformance;`).
//
// The suite checks the contract of event_store.h against answers computed by brute force in
// the tests (with filter.h's Matches as the definition of a match): write outcomes and
// exactly-once identity, validation, every filter field through Search, both orders, paging
// (also while writes continue), Get, Count, Top, Histogram, ReadSince, LastSequence and
// Stats, over realistic events from the load generator (two clusters, some events with old
// timestamps, ties, and every EventTimeMicros fallback). Each test gets a fresh store in a
// fresh temporary directory and writes at most a few thousand events.
#ifndef KUBETRAIL_STORAGE_EVENT_STORE_CONFORMANCE_H_
#define KUBETRAIL_STORAGE_EVENT_STORE_CONFORMANCE_H_

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "storage/event_store.h"
#include "tests/testing/temp_dir.h"

namespace kubetrail::storage {

// Makes an empty store whose files (if any) live under `dir`, an existing empty directory
// owned by the calling test and removed after it (the store is destroyed first). Returns
// nullptr on failure, which fails the test.
using EventStoreFactory = std::function<std::unique_ptr<EventStore>(const std::string& dir)>;

// Prints a factory in GoogleTest's messages ("EventStoreFactory") instead of its raw
// bytes. Found by argument-dependent lookup: EventStore is part of the factory's type.
void PrintTo(const EventStoreFactory& factory, std::ostream* os);

// The fixture of the suite; the parameter is the factory of the store under test.
class EventStoreConformance : public ::testing::TestWithParam<EventStoreFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;

  EventStore& store() { return *store_; }

 private:
  // Declared before store_ so that the store is destroyed before its directory.
  std::unique_ptr<kubetrail::testing::TempDir> dir_;
  std::unique_ptr<EventStore> store_;
};

}  // namespace kubetrail::storage

#endif  // KUBETRAIL_STORAGE_EVENT_STORE_CONFORMANCE_H_
