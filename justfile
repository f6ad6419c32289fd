# Recipes mirror CI; `just ci` is exactly what CI runs.

# List the recipes.
default:
    @just --list

# Everything CI runs: PostgreSQL up, fmt, clippy, the purity check, the tests, the clock-change
# scan, the OpenAPI checks.
ci:
    bash .ci/run

# Run the tests (PostgreSQL too when TEST_DATABASE_URL is set).
test:
    cargo test --workspace

# The end-to-end suite alone (real binaries as processes; see docs/reliability.md).
e2e:
    cargo build --workspace
    cargo test -p e2e

# The OpenAPI document against a real server: Spectral, a generated Python client, schemathesis
# with every check (needs python3 and npm; the tools are installed on the first run).
openapi:
    bash tests/openapi.sh

# The planner against every IANA zone's clock changes 1970–2040, minute by minute (~1 min).
transitions:
    cargo run --release -p scheduler-core --example transitions_scan

# Format the code.
fmt:
    cargo fmt --all

# Lint as CI does.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings

# Run the API server on the embedded SQLite default.
serve *ARGS:
    cargo run --release -p api-server -- {{ARGS}}

# Run one tick.
tick *ARGS:
    cargo run --release -p tick-runner -- {{ARGS}}

# Run the benchmarks (figures go to docs/benchmarks.md by hand).
bench:
    cargo bench -p scheduler-core --bench plan
