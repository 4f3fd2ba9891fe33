#!/bin/sh
# The image's entry point: `tocsin ARGS`, but never with the embedded database (the image has none).
set -eu
case "${1:-}" in
  check-config|send-test-alert|-h|--help|"") ;;
  *)
    if [ -z "${DATABASE_URL:-}" ] && [ -z "${DATABASE_URL_FILE:-}" ]; then
      echo "tocsin: DATABASE_URL (or DATABASE_URL_FILE) must be set: this image has no embedded PostgreSQL" >&2
      exit 64
    fi
    ;;
esac
exec tocsin "$@"
