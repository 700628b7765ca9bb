#!/bin/sh
# Stands in for a tool that ignores SIGINT, in tests of the kill fallback.
trap '' INT
echo started
sleep 30
