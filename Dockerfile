# Static binary on distroless, non-root.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=${VERSION}" \
    -o /certstatus_exporter .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /certstatus_exporter /bin/certstatus_exporter
USER nonroot:nonroot
EXPOSE 9815
ENTRYPOINT ["/bin/certstatus_exporter"]
CMD ["--config.file=/etc/certstatus/certstatus.yml"]
