package controllers

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mizzen-mesh/mizzen/internal/mesh"
)

var _ = Describe("Snapshot builds", func() {
	It("serve every change made within the interval with one build, and are never stale", func() {
		src := newSnapshotSource(k8sClient, mesh.Settings{})
		src.minInterval = 300 * time.Millisecond
		var builds atomic.Int32
		src.notifyBuilds(func(*mesh.Snapshot) { builds.Add(1) })

		first, firstGen, err := src.get(ctx)
		Expect(err).NotTo(HaveOccurred())
		again, gen, err := src.get(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(again).To(BeIdenticalTo(first), "no change: the same snapshot")
		Expect(gen).To(Equal(firstGen))

		// A burst of changes and of readers right after a build: the readers wait for the interval
		// and share one build that sees every change.
		for range 5 {
			src.invalidate()
		}
		last := src.gen.Load()
		var wg sync.WaitGroup
		gens := make([]uint64, 8)
		for i := range gens {
			wg.Go(func() {
				defer GinkgoRecover()
				_, g, err := src.get(ctx)
				Expect(err).NotTo(HaveOccurred())
				gens[i] = g
			})
		}
		wg.Wait()
		for _, g := range gens {
			Expect(g).To(Equal(last), "every reader gets the snapshot of the last change")
		}
		Expect(builds.Load()).To(BeEquivalentTo(2), "one build for the first read, one for the burst")

		// A reader whose context ends while it waits gets the context's error, not a stale snapshot.
		src.minInterval = time.Hour
		src.invalidate()
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, _, err = src.get(short)
		Expect(err).To(MatchError(context.DeadlineExceeded))
	})
})
