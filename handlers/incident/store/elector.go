package store

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// DefaultLeaseName is the Lease the replicas compete for unless configured.
const DefaultLeaseName = "pullcheck-leader"

// ElectorConfig configures an Elector. Zero fields take the defaults.
type ElectorConfig struct {
	LeaseName     string        // default DefaultLeaseName
	LeaseDuration time.Duration // how long a lease is held without renewal; default 15s
	RenewDeadline time.Duration // how long the leader retries renewing before it gives up; default 10s
	RetryPeriod   time.Duration // between attempts to acquire or renew; default 2s
}

// Elector runs a function while this replica holds a Lease.
type Elector struct {
	client    kubernetes.Interface
	namespace string
	identity  string
	cfg       ElectorConfig
}

// NewElector returns an elector for the Lease in namespace (the bot's own), competing as
// identity (the pod name, or the host name). It checks the configuration the way client-go
// does: LeaseDuration > RenewDeadline > RetryPeriod*1.2, all positive.
func NewElector(client kubernetes.Interface, namespace, identity string, cfg ElectorConfig) (*Elector, error) {
	if cfg.LeaseName == "" {
		cfg.LeaseName = DefaultLeaseName
	}
	if cfg.LeaseDuration == 0 {
		cfg.LeaseDuration = 15 * time.Second
	}
	if cfg.RenewDeadline == 0 {
		cfg.RenewDeadline = 10 * time.Second
	}
	if cfg.RetryPeriod == 0 {
		cfg.RetryPeriod = 2 * time.Second
	}
	if namespace == "" {
		return nil, errors.New("leader election: namespace is empty")
	}
	if identity == "" {
		return nil, errors.New("leader election: identity is empty (set it to the pod name)")
	}
	e := &Elector{client: client, namespace: namespace, identity: identity, cfg: cfg}
	if _, err := e.elector(func(context.Context) {}, new(round)); err != nil {
		return nil, err
	}
	return e, nil
}

// Identity returns this replica's identity in the Lease.
func (e *Elector) Identity() string { return e.identity }

// Run competes for the Lease until ctx ends. Each time this replica acquires it, Run calls
// lead with a context that is cancelled when the Lease is lost (renewal failed for
// RenewDeadline) or ctx ends; it then waits for lead to return before it releases the Lease
// and, unless ctx has ended, competes again. lead must return promptly once its context is
// cancelled: after a lost renewal another replica may lead once LeaseDuration has passed.
// Run returns when ctx ends and lead has returned.
func (e *Elector) Run(ctx context.Context, lead func(ctx context.Context)) {
	for ctx.Err() == nil {
		r := &round{done: make(chan struct{})}
		le, err := e.elector(lead, r)
		if err != nil {
			// The configuration was checked by NewElector; nothing else can fail here.
			panic(err)
		}
		le.Run(ctx)
		// client-go starts lead on its own goroutine once the Lease is acquired and does
		// not wait for it; this round owns that goroutine and waits for it here.
		if r.acquired.Load() {
			<-r.done
		}
	}
}

// round is one turn of leader election: whether the Lease was acquired (so lead runs) and
// when lead has returned.
type round struct {
	acquired atomic.Bool
	done     chan struct{}
}

func (e *Elector) elector(lead func(context.Context), r *round) (*leaderelection.LeaderElector, error) {
	lock := &gatedLock{
		Interface: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: e.namespace, Name: e.cfg.LeaseName},
			Client:     e.client.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: e.identity},
		},
		round: r,
	}
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		Name:            e.cfg.LeaseName,
		LeaseDuration:   e.cfg.LeaseDuration,
		RenewDeadline:   e.cfg.RenewDeadline,
		RetryPeriod:     e.cfg.RetryPeriod,
		ReleaseOnCancel: true,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				defer close(r.done)
				lead(ctx)
			},
			OnStoppedLeading: func() {},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("leader election on lease %s/%s: %w", e.namespace, e.cfg.LeaseName, err)
	}
	return le, nil
}

// gatedLock is the Lease lock with two additions: it notes when this replica acquires the
// Lease (client-go then starts lead), and it holds back the release (the update that clears
// the holder) until lead has returned, so that the next leader cannot start while this one
// still runs.
type gatedLock struct {
	resourcelock.Interface
	round *round
}

func (l *gatedLock) Create(ctx context.Context, ler resourcelock.LeaderElectionRecord) error {
	err := l.Interface.Create(ctx, ler)
	if err == nil && ler.HolderIdentity == l.Identity() {
		l.round.acquired.Store(true)
	}
	return err
}

func (l *gatedLock) Update(ctx context.Context, ler resourcelock.LeaderElectionRecord) error {
	if ler.HolderIdentity == "" && l.round.acquired.Load() {
		select {
		case <-l.round.done:
		case <-ctx.Done():
			// lead has not returned within RenewDeadline: leave the Lease to expire.
			return fmt.Errorf("release lease: lead has not returned: %w", ctx.Err())
		}
	}
	err := l.Interface.Update(ctx, ler)
	if err == nil && ler.HolderIdentity == l.Identity() {
		l.round.acquired.Store(true)
	}
	return err
}
