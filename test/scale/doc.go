// Package scale is issue 4's scale harness: BenchmarkRollout runs the manager binary against the
// local cluster (test/cluster: real apiserver, controller manager and scheduler, kwok fake nodes)
// with N services × M pods, and measures what a canary weight change costs.
package scale
