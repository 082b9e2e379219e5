# syntax=docker/dockerfile:1
# sfmcwatch container image: a static binary on distroless, non-root, state in /data.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) \
#                --build-arg COMMIT=$(git rev-parse HEAD) \
#                --build-arg DATE=$(git log -1 --format=%cI) -t sfmcwatch .
#   docker run -p 8080:8080 -v sfmcwatch-data:/data -v $PWD/sfmcwatch.yaml:/etc/sfmcwatch/sfmcwatch.yaml:ro \
#              -e SFMC_CLIENT_SECRET sfmcwatch
#
# The binary stage runs packaging/build.sh, the same script (same flags) the
# Makefile, packaging/release.sh and .ci/run use, so CI tests this binary.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
RUN VERSION=$VERSION COMMIT=$COMMIT DATE=$DATE packaging/build.sh /out/sfmcwatch \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sfmcwatch /usr/local/bin/sfmcwatch
# /data belongs to the distroless nonroot user (65532): the SQLite store lives here.
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
VOLUME ["/data"]
WORKDIR /data
EXPOSE 8080
# The config must listen on 0.0.0.0:8080 inside the container (server.listen)
# and keep its store under /data (storage.path: /data/sfmcwatch.db).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/sfmcwatch", "healthcheck", "--url", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/sfmcwatch"]
CMD ["serve", "--config", "/etc/sfmcwatch/sfmcwatch.yaml"]
