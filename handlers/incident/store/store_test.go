package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullcheck/pullcheck/tests/kubetest"
)

var cluster *kubetest.Cluster

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	cluster, err = kubetest.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cluster.Stop()
	return m.Run()
}

var nsSeq atomic.Int32

// namespace creates a fresh namespace (tests may run more than once against one server).
func namespace(t *testing.T, prefix string) string {
	t.Helper()
	name := fmt.Sprintf("%s-%d", prefix, nsSeq.Add(1))
	if _, err := cluster.CreateNamespace(context.Background(), name); err != nil {
		t.Fatal(err)
	}
	return name
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestLoadMissingConfigMap(t *testing.T) {
	ctx := testContext(t)
	s := NewConfigMapStore(cluster.Client, namespace(t, "missing"), "")
	state, version, err := s.Load(ctx)
	if err != nil || len(state) != 0 || version != "" {
		t.Fatalf("Load = %q, %q, %v; want empty state, \"\", nil", state, version, err)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		states [][]byte // saved in turn, each based on the version the previous returned
	}{
		{"json", [][]byte{[]byte(`{"incidents":[]}`), []byte(`{"incidents":[{"key":"payments/Deployment/api/ErrImagePull"}]}`)}},
		{"empty then json", [][]byte{nil, []byte(`{}`)}},
		{"not utf-8", [][]byte{{0xff, 0xfe, 0x00, 0x01}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			s := NewConfigMapStore(cluster.Client, namespace(t, "roundtrip"), "incidents")
			version := ""
			for i, want := range tc.states {
				saved, err := s.Save(ctx, want, version)
				if err != nil {
					t.Fatalf("Save #%d: %v", i, err)
				}
				if saved == "" || saved == version {
					t.Fatalf("Save #%d returned version %q after %q", i, saved, version)
				}
				got, loaded, err := s.Load(ctx)
				if err != nil {
					t.Fatalf("Load #%d: %v", i, err)
				}
				if !bytes.Equal(got, want) || loaded != saved {
					t.Fatalf("Load #%d = %q, %q; want %q, %q", i, got, loaded, want, saved)
				}
				version = saved
			}
			cm, err := cluster.Client.CoreV1().ConfigMaps(s.namespace).Get(ctx, "incidents", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := cm.Data[StateKey]; !ok && cm.BinaryData[StateKey] == nil {
				t.Errorf("ConfigMap keys: data %v, binaryData %v; want %s", cm.Data, cm.BinaryData, StateKey)
			}
		})
	}
}

func TestDefaultConfigMapName(t *testing.T) {
	ctx := testContext(t)
	ns := namespace(t, "default-name")
	if _, err := NewConfigMapStore(cluster.Client, ns, "").Save(ctx, []byte(`{}`), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, DefaultConfigMapName, metav1.GetOptions{}); err != nil {
		t.Fatalf("ConfigMap %s: %v", DefaultConfigMapName, err)
	}
}

// TestConcurrentSaveConflicts: two replicas (or two goroutines) save from the same version;
// exactly one wins and the other must reload.
func TestConcurrentSaveConflicts(t *testing.T) {
	ctx := testContext(t)
	s := NewConfigMapStore(cluster.Client, namespace(t, "conflict"), "")

	// Each race writes states unlike the stored one: the API server takes an update that
	// changes nothing as a success without a new version, whatever version it names.
	race := func(round int, version string) (winner []byte) {
		t.Helper()
		states := [][]byte{fmt.Appendf(nil, `{"round":%d,"writer":"a"}`, round), fmt.Appendf(nil, `{"round":%d,"writer":"b"}`, round)}
		errs := make([]error, len(states))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range states {
			wg.Go(func() {
				<-start
				_, errs[i] = s.Save(ctx, states[i], version)
			})
		}
		close(start)
		wg.Wait()
		var won, conflicted int
		for i, err := range errs {
			switch {
			case err == nil:
				won++
				winner = states[i]
			case errors.Is(err, ErrConflict):
				conflicted++
			default:
				t.Fatalf("Save from version %q: %v", version, err)
			}
		}
		if won != 1 || conflicted != 1 {
			t.Fatalf("from version %q: %d saves won and %d conflicted (%v); want 1 and 1", version, won, conflicted, errs)
		}
		got, _, err := s.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(winner), string(got)); diff != "" {
			t.Fatalf("stored state is not the winner's (-winner +stored):\n%s", diff)
		}
		return winner
	}

	race(1, "") // both create
	_, version, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	race(2, version) // both update from the same version

	// The loser's recovery: reload, re-apply, save.
	if _, err := s.Save(ctx, []byte(`{"writer":"late"}`), version); !errors.Is(err, ErrConflict) {
		t.Fatalf("Save from a stale version: %v; want ErrConflict", err)
	}
	_, version, err = s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Save(ctx, []byte(`{"writer":"late"}`), version); err != nil {
		t.Fatalf("Save after reload: %v", err)
	}
}

func TestSaveAfterDeleteConflicts(t *testing.T) {
	ctx := testContext(t)
	ns := namespace(t, "deleted")
	s := NewConfigMapStore(cluster.Client, ns, "")
	version, err := s.Save(ctx, []byte(`{}`), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := cluster.Client.CoreV1().ConfigMaps(ns).Delete(ctx, DefaultConfigMapName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Save(ctx, []byte(`{}`), version); !errors.Is(err, ErrConflict) {
		t.Fatalf("Save after the ConfigMap was deleted: %v; want ErrConflict", err)
	}
}

// TestSaveTooLarge checks the limit against the real server: the largest state Save accepts
// is stored, one byte more is refused before the request.
func TestSaveTooLarge(t *testing.T) {
	ctx := testContext(t)
	s := NewConfigMapStore(cluster.Client, namespace(t, "large"), "")
	largest := []byte(`"` + strings.Repeat("x", MaxStateSize-2) + `"`)
	version, err := s.Save(ctx, largest, "")
	if err != nil {
		t.Fatalf("Save of MaxStateSize bytes: %v", err)
	}
	got, _, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, largest) {
		t.Fatalf("Load returned %d bytes; want %d", len(got), len(largest))
	}
	_, err = s.Save(ctx, append(largest, ' '), version)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Save of MaxStateSize+1 bytes: %v; want ErrTooLarge", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprint(MaxStateSize)) {
		t.Errorf("error %q does not name the limit", err)
	}
}
