// jemalloc's built-in options for the programs that link kubetrail::malloc (the aggregator, the
// collector, and the bench that runs them). MALLOC_CONF in the environment still overrides
// them.
//
// dirty_decay_ms / muzzy_decay_ms: how long freed memory stays mapped before jemalloc hands it
// back to the kernel (jemalloc's defaults: 10 s, then at once). The aggregator frees memory in
// large, slow waves: a RocksDB memtable's 64 MiB when it is flushed, every 10-20 s under load,
// and ingest requests by the hundred. With the defaults, jemalloc returned those pages between
// waves and the next memtable faulted them in again; each return (madvise) flushes the TLBs of
// every core. perf put 8% of ingest CPU in those flushes alone and more in the page faults
// after them. With 60 s, end-to-end ingest on ~1.9 KB events went from 33.0k to 38.2k
// events/s (bench/README.md, aggregator), and the collector's peak resident memory stayed at
// 143-149 MB. Memory that stays unused for a minute is still returned.
extern "C" {
// NOLINTNEXTLINE: the name and type are jemalloc's (see jemalloc(3), "malloc_conf").
const char* malloc_conf = "dirty_decay_ms:60000,muzzy_decay_ms:60000";
}
