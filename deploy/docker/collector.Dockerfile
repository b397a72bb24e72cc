# kubetrail-collector's image: Debian 12, built with the repository's own scripts.
#
#   docker build -f deploy/docker/collector.Dockerfile -t ghcr.io/kubetrail/kubetrail-collector:0.1.0 .
#
# (from the repository's root; collector.Dockerfile.dockerignore keeps build trees out).
# The runtime stage has only the shared libraries the binary links (tests/deploy checks the
# list against `ldd`), runs as 65532 by default (the DaemonSet runs it as root without
# capabilities, to read the apiserver's audit log) and reads
# /etc/kubetrail/config/collector.yaml.

FROM debian:12 AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DKUBETRAIL_TESTS=OFF \
 && cmake --build /build --target kubetrail-collector \
 && strip /build/bin/kubetrail-collector

FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libabsl20220623 libbrotli1 libbz2-1.0 libc-ares2 libcpp-httplib0.11 libdeflate0 \
      libgrpc++1.51 libgrpc29 libjemalloc2 liblz4-1 libprotobuf32 libre2-9 libsimdjson14 \
      libsnappy1v5 libssl3 libstdc++6 libyaml-cpp0.7 libzstd1 zlib1g \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/bin/kubetrail-collector /usr/local/bin/kubetrail-collector
USER 65532:65532
EXPOSE 8443 9091
ENTRYPOINT ["/usr/local/bin/kubetrail-collector"]
CMD ["--config", "/etc/kubetrail/config/collector.yaml"]
