package crl

import (
	"context"
	"crypto/x509"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/certstatus/certstatus_exporter/config"
	"github.com/certstatus/certstatus_exporter/ocsp"
)

// maxOCSPPerPass bounds the OCSP requests per OCSP origin per pass; the
// oldest unconfirmed revocations go first, the rest wait for later passes.
const maxOCSPPerPass = 200

// ocspCross asks the OCSP origins (the ocsp section's) whether each
// revocation in the CA's record is answered "revoked" there: the cross-check
// of the CRL with OCSP. A revocation confirmed at an origin is not asked
// about again.
type ocspCross struct {
	origins []ocspOrigin
	issuer  *ocsp.Issuer // nil when the shards have several issuers

	mu        sync.Mutex
	confirmed map[ocspKey]bool // serial answered revoked at origin
	last      map[ocspKey]ocsp.Result
}

type ocspOrigin struct {
	cfg    config.Origin
	client *ocsp.Client
}

type ocspKey struct{ origin, serial string }

func newOCSPCross(origins []config.Origin, shards []config.Shard) *ocspCross {
	if len(origins) == 0 {
		return nil
	}
	x := &ocspCross{confirmed: map[ocspKey]bool{}, last: map[ocspKey]ocsp.Result{}}
	var cert *x509.Certificate
	for _, s := range shards {
		if cert != nil && !cert.Equal(s.IssuerCert) {
			return nil // which CA issued a serial is unknown with several
		}
		cert = s.IssuerCert
	}
	if cert == nil {
		return nil
	}
	var err error
	if x.issuer, err = ocsp.NewIssuer(cert); err != nil {
		return nil
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, o := range origins {
		x.origins = append(x.origins, ocspOrigin{cfg: o, client: &ocsp.Client{URL: o.URL, Host: o.Host, Method: o.Method, HTTP: client}})
	}
	return x
}

// check asks every OCSP origin about the revocations it has not confirmed.
func (x *ocspCross) check(ctx context.Context, record []Revocation, now func() time.Time) {
	var wg sync.WaitGroup
	for _, o := range x.origins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x.checkOrigin(ctx, o, record, now)
		}()
	}
	wg.Wait()
}

func (x *ocspCross) checkOrigin(ctx context.Context, o ocspOrigin, record []Revocation, now func() time.Time) {
	var todo []Revocation
	x.mu.Lock()
	at := now()
	for _, r := range record {
		if r.unexpired(at) && !x.confirmed[ocspKey{o.cfg.Name, SerialKey(r.Serial)}] {
			todo = append(todo, r)
		}
	}
	x.mu.Unlock()
	sort.Slice(todo, func(i, j int) bool { return todo[i].RevokedAt.Before(todo[j].RevokedAt) })
	todo = todo[:min(len(todo), maxOCSPPerPass)]
	jobs := make(chan Revocation)
	var wg sync.WaitGroup
	for range max(1, o.cfg.Concurrency) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range jobs {
				rctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout.D())
				out := o.client.Check(rctx, x.issuer, r.Serial, now)
				cancel()
				if ctx.Err() != nil {
					continue
				}
				k := ocspKey{o.cfg.Name, SerialKey(r.Serial)}
				x.mu.Lock()
				x.last[k] = out.Result
				if out.Result == ocsp.ResultRevoked {
					x.confirmed[k] = true
				}
				x.mu.Unlock()
			}
		}()
	}
	for _, r := range todo {
		if ctx.Err() != nil {
			break
		}
		jobs <- r
	}
	close(jobs)
	wg.Wait()
}

// ocspSummary is one OCSP origin's revocation states.
type ocspSummary struct {
	origin string
	states [numOCSPStates]int
}

// OCSP states of a revocation at an OCSP origin.
const (
	ocspPending = iota // not answered revoked yet, within the deadline
	ocspRevoked
	ocspOverdue
	numOCSPStates
)

func ocspStateName(s int) string {
	return [numOCSPStates]string{"pending", "revoked", "overdue"}[s]
}

// summarize counts states and forgets serials no longer in the record, so
// memory follows the record.
func (x *ocspCross) summarize(record map[string]Revocation, deadline time.Duration, now time.Time) []ocspSummary {
	x.mu.Lock()
	defer x.mu.Unlock()
	for k := range x.last {
		if _, ok := record[k.serial]; !ok {
			delete(x.last, k)
			delete(x.confirmed, k)
		}
	}
	out := make([]ocspSummary, 0, len(x.origins))
	for _, o := range x.origins {
		sum := ocspSummary{origin: o.cfg.Name}
		for k, r := range record {
			switch {
			case !r.unexpired(now):
				continue // an expired certificate's status no longer matters
			case x.confirmed[ocspKey{o.cfg.Name, k}]:
				sum.states[ocspRevoked]++
			case now.Sub(r.RevokedAt) > deadline:
				sum.states[ocspOverdue]++
			default:
				sum.states[ocspPending]++
			}
		}
		out = append(out, sum)
	}
	return out
}
