package controllers

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// kicker is a controller source through which code outside a controller's watches (snapshot
// builds, proxy writes) enqueues requests. Bursts are coalesced: a kick schedules one delivery
// after delay, and kicks until then ride along with it.
type kicker struct {
	delay   time.Duration
	list    func() []reconcile.Request // what a delivery enqueues, read when it fires
	pending atomic.Bool

	mu     sync.Mutex
	queues []workqueue.TypedRateLimitingInterface[reconcile.Request]
}

func newKicker(delay time.Duration, list func() []reconcile.Request) *kicker {
	return &kicker{delay: delay, list: list}
}

// Start implements source.Source: the controller hands over its queue.
func (k *kicker) Start(_ context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.queues = append(k.queues, q)
	return nil
}

// kick schedules a delivery unless one is already pending.
func (k *kicker) kick() {
	if !k.pending.CompareAndSwap(false, true) {
		return
	}
	time.AfterFunc(k.delay, func() {
		k.pending.Store(false)
		reqs := k.list()
		k.mu.Lock()
		defer k.mu.Unlock()
		for _, q := range k.queues {
			for _, req := range reqs {
				q.Add(req)
			}
		}
	})
}
