// Package ct tails Certificate Transparency logs: static-ct-api logs
// (Sunlight, TesseraCT) through filippo.io/sunlight's client and RFC 6962 logs
// through github.com/google/certificate-transparency-go's client.
//
// Every tree head is verified with the log's public key (and, for static
// logs, the configured origin line), every new tree is proven consistent with
// the last verified one before any entry is read from it, and every entry is
// authenticated against the tree it was read from. A forked or rewound log is
// refused with ReasonInconsistent and nothing from it is returned.
//
// The caller owns the Position (index + verified tree) and persists it, so a
// restart or a log outage resumes exactly where the last delivered entry was.
// The package has no metrics and no storage: a library for the canary's ct
// source and the bench.
package ct
