# smxgb in a container image, for CI jobs (the GitLab template's SMXGB_IMAGE, a GitHub job
# container) and for machines without Debian 12:
#   docker build -t smxgb .
#   docker run --rm -v "$PWD:/work" smxgb verify model.tar.gz --container 1.7-1
# The first stage builds the .deb (cpack) with the build dependencies; the final stage is
# Debian 12 slim with that .deb installed by apt, which pulls in only its runtime
# dependencies (the Depends of the package: Debian's XGBoost 1.7.4, libarchive, libcurl,
# libmicrohttpd, jansson, protobuf-c, OpenSSL, zlib), plus CA certificates for https:// and
# s3:// downloads and jq for the GitHub Action's job summary. It runs as an unprivileged user
# in /work.

FROM debian:bookworm-slim AS build
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential cmake pkg-config dpkg-dev file \
        libarchive-dev zlib1g-dev libssl-dev libcurl4-openssl-dev libmicrohttpd-dev \
        libjansson-dev libprotobuf-c-dev protobuf-c-compiler \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DSMXGB_TESTS=OFF \
    && cmake --build /build -j"$(nproc)" \
    && cpack --config /build/CPackConfig.cmake -G DEB -B /dist \
    && rm -rf /dist/_CPack_Packages

FROM debian:bookworm-slim
COPY --from=build /dist/ /tmp/smxgb-deb/
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        /tmp/smxgb-deb/smxgb_*.deb ca-certificates jq \
    && rm -rf /var/lib/apt/lists/* /tmp/smxgb-deb \
    && useradd --system --uid 10001 --user-group --create-home --home-dir /home/smxgb \
        --shell /usr/sbin/nologin smxgb \
    && smxgb --version
USER smxgb:smxgb
WORKDIR /work
ENTRYPOINT ["smxgb"]
CMD ["help"]
