// Baseline for host-import: Node start-up and exit with nothing to evaluate.
