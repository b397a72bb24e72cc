# kubetrail-aggregator's image: Debian 12, built with the repository's own scripts.
#
#   docker build -f deploy/docker/aggregator.Dockerfile -t ghcr.io/kubetrail/kubetrail-aggregator:0.1.0 .
#
# (from the repository's root; aggregator.Dockerfile.dockerignore keeps build trees out).
# The runtime stage has only the shared libraries the binary links (tests/deploy checks the
# list against `ldd`), runs as 65532 and reads /etc/kubetrail/config/aggregator.yaml.

FROM debian:12 AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DKUBETRAIL_TESTS=OFF \
 && cmake --build /build --target kubetrail-aggregator \
 && strip /build/bin/kubetrail-aggregator

FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libabsl20220623 libbrotli1 libbz2-1.0 libc-ares2 libcpp-httplib0.11 libgrpc++1.51 \
      libgrpc29 libjemalloc2 liblz4-1 libprotobuf32 libre2-9 libsnappy1v5 libssl3 \
      libstdc++6 libyaml-cpp0.7 libzstd1 zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o 65532 -g 65532 -m 0700 /var/lib/kubetrail
COPY --from=build /build/bin/kubetrail-aggregator /usr/local/bin/kubetrail-aggregator
USER 65532:65532
EXPOSE 7443 9090
VOLUME /var/lib/kubetrail
ENTRYPOINT ["/usr/local/bin/kubetrail-aggregator"]
CMD ["--config", "/etc/kubetrail/config/aggregator.yaml"]
