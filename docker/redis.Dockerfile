# Redis 7 for docker/compose.yaml: Debian 12's redis-server (7.0) on the same base as Parley's image, so the pair
# builds from Debian's archive alone. The official redis:7 image works the same way (same command line).
FROM debian:bookworm-slim
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
    && apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* \
    && install -d -o redis -g redis -m 0750 /data
USER redis
WORKDIR /data
VOLUME ["/data"]
EXPOSE 6379
STOPSIGNAL SIGTERM
ENTRYPOINT ["redis-server"]
# AOF on, fsync on every write (as Parley's embedded Redis), never evict Parley's keys.
CMD ["--bind", "0.0.0.0", "--port", "6379", "--dir", "/data", "--appendonly", "yes", "--appendfsync", "always", \
     "--save", "", "--maxmemory-policy", "noeviction"]
