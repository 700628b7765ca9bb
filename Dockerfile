# The image the Helm chart runs (image.repository). Static binary, distroless,
# non-root (uid 65534, as the chart's securityContext expects).
# Not built by CI here (no container engine on the build machines).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG REVISION=unknown
RUN CGO_ENABLED=0 make build BIN=/out/perf-exporter VERSION=$VERSION REVISION=$REVISION BRANCH=main

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/perf-exporter /bin/perf-exporter
USER 65534:65534
EXPOSE 9479
ENTRYPOINT ["/bin/perf-exporter"]
CMD ["--config.file=/etc/perf-exporter/config.yaml", "--storage.path=/data"]
