#!/bin/sh
# Starts the app with its configuration (never run by the benchmark).
exec /opt/app/bin/app --config /etc/app/app.conf "$@"
