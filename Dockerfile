# syntax=docker/dockerfile:1
# sidetrail: a static binary on distroless, running as nonroot (65532).
#   docker build --build-arg VERSION=$(git describe --tags --always) -t sidetrail .

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so a source change does not re-download them.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The Makefile's VERSION ?= picks up this build argument (there is no .git
# in the build context to describe).
ARG VERSION=dev
RUN make build-static
# The buffer directory, owned by the runtime user: Docker copies it into a
# new volume mounted there, which would otherwise be root's.
RUN mkdir -p /out/var/lib/sidetrail

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/bin/sidetrail /sidetrail
COPY --from=build --chown=65532:65532 /out/var/lib/sidetrail /var/lib/sidetrail
USER 65532:65532
# The disk buffer and checkpoints: mount a volume here (an emptyDir, or a
# PersistentVolumeClaim to keep undelivered records across rescheduling).
VOLUME /var/lib/sidetrail
# /metrics, /healthz, /readyz (server.listen).
EXPOSE 9110
ENTRYPOINT ["/sidetrail"]
CMD ["run", "-config", "/etc/sidetrail/sidetrail.yaml"]
