# Multi-stage build: compile in the Rust image (it has the C compiler and OpenSSL headers that the
# bundled SQLite, libpq and aws-lc need), run from a slim Debian with only the binary and libssl.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p tessera-app \
 && strip target/release/tessera

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/tessera --create-home tessera
COPY --from=build /src/target/release/tessera /usr/local/bin/tessera
USER tessera
WORKDIR /var/lib/tessera
ENV TESSERA_DATA_DIR=/var/lib/tessera \
    TESSERA_SERVER__BIND=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["tessera"]
CMD ["serve"]
