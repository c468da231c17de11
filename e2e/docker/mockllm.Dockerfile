# The mock provider: the static binary `make e2e` builds on the host, and the
# fixtures it replays. fixture.Load finds testdata/cases next to go.mod
# above the working directory.
FROM scratch
COPY go.mod /srv/go.mod
COPY testdata/cases /srv/testdata/cases
COPY build/mockllm /mockllm
WORKDIR /srv
EXPOSE 8080
ENTRYPOINT ["/mockllm", "-addr", ":8080"]
