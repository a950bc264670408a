# Builds the diwan binary and runs it as an unprivileged user.
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p diwan-server

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/diwan --create-home diwan
COPY --from=build /src/target/release/diwan /usr/local/bin/diwan
USER diwan
WORKDIR /var/lib/diwan
# Large blocks (argon2's 19 MiB per password check) go straight back to the system instead
# of staying in glibc's heap (see docs/OPERATIONS.md, memory).
ENV DIWAN__SERVER__BIND=0.0.0.0:8080 \
    DIWAN__STORAGE__DATA_DIR=/var/lib/diwan/data \
    GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072
EXPOSE 8080
ENTRYPOINT ["diwan"]
CMD ["serve"]
