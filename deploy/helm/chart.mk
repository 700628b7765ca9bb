# Helm chart targets, included from the top-level Makefile (paths are relative
# to the repository root).
#
# The Grafana boards are single-sourced in dashboards/boards/: the chart ships
# copies, because `helm package` can only read files inside the chart. The
# chart's Go tests fail when the copies differ from the source, so run
# `make chart-assets` after changing a board. The alert rules need no copy:
# their single source is deploy/helm/perf-exporter/rules/ inside the chart.

CHART_DIR    ?= deploy/helm/perf-exporter
CHART_BOARDS ?= dashboards/boards

.PHONY: chart-assets
chart-assets: ## Copy the Grafana boards into the Helm chart.
	@mkdir -p $(CHART_DIR)/dashboards
	@# Remove first: a board deleted from the source must leave the chart too.
	rm -f $(CHART_DIR)/dashboards/*.json
	@set -e; for f in $(wildcard $(CHART_BOARDS)/*.json); do cp "$$f" $(CHART_DIR)/dashboards/; done
