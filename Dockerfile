# The Supplyline worker image: the Go worker, the loader's C library and the
# PyTorch trainer (Debian's python3-torch with OpenBLAS), as in docker-compose.yml.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -o /out/supplyline ./cmd/supplyline && \
    CGO_ENABLED=1 go build -buildmode=c-shared -o /out/libsupplyline_loader.so ./train/loader/capi

FROM debian:bookworm-slim
RUN apt-get update && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-torch python3-numpy libopenblas0-pthread ca-certificates && \
    rm -rf /var/lib/apt/lists/*
COPY --from=build /out/supplyline /out/libsupplyline_loader.so /usr/local/bin/
ENV SUPPLYLINE_LOADER_LIB=/usr/local/bin/libsupplyline_loader.so
WORKDIR /var/lib/supplyline
ENTRYPOINT ["/usr/local/bin/supplyline"]
CMD ["worker", "--jobs", "/var/lib/supplyline/jobs"]
