// A loopback TCP port that nothing listens on, for tests that must name a port up front (a
// script that prints its addresses, a connection that must be refused).
//
//   const int port = kubetrail::testing::UnusedLoopbackPort();   // 0 if none could be found
//
// The port was free when asked; another process may take it before the test binds it, so use
// port 0 wherever the server can report its own port instead.
#ifndef KUBETRAIL_TESTS_TESTING_PORTS_H_
#define KUBETRAIL_TESTS_TESTING_PORTS_H_

namespace kubetrail::testing {

// A port on 127.0.0.1 the kernel just handed out and that was released again; 0 on error.
int UnusedLoopbackPort();

}  // namespace kubetrail::testing

#endif  // KUBETRAIL_TESTS_TESTING_PORTS_H_
