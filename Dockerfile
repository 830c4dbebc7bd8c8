# notaryd, notary-signer, notaryctl and notary-verify on Debian 12.
FROM debian:12 AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config ca-certificates \
      libssl-dev libgmime-3.0-dev libglib2.0-dev libpqxx-dev libpq-dev libcpp-httplib-dev \
      libasio-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libcli11-dev libzip-dev \
      libmilter-dev libp11-kit-dev libopendkim-dev libldns-dev libunbound-dev libevent-dev \
      libcairo2-dev libpango1.0-dev libqpdf-dev liblcms2-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNOTARY_BUILD_TESTS=OFF \
 && cmake --build /build --target notaryd notary-signer notaryctl notary-verify

FROM debian:12
RUN apt-get update && apt-get install -y --no-install-recommends \
      ca-certificates curl libssl3 libgmime-3.0-0 libpqxx-6.4 libcpp-httplib0.11 libspdlog1.10 \
      libfmt9 libzip4 libcairo2 libpangocairo-1.0-0 libqpdf29 liblcms2-2 fonts-noto-cjk \
      fonts-dejavu-core && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/notary --create-home notary
COPY --from=build /build/notaryd/notaryd /build/signer/notary-signer /build/cli/notaryctl \
     /build/cli/notary-verify /usr/local/bin/
USER notary
VOLUME /var/lib/notary
EXPOSE 2525 8080
ENV NOTARY_DATA_DIR=/var/lib/notary NOTARY_SMTP_LISTEN=0.0.0.0:2525 NOTARY_HTTP_LISTEN=0.0.0.0:8080
HEALTHCHECK --interval=10s --timeout=3s CMD curl -sf http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/notaryd"]
