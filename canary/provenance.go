package canary

// Provenance says which clock a certificate's publication time comes from,
// most trustworthy first (design.md, "The clocks"). notBefore is not a
// clock: CAs backdate it (cfssl by 5 minutes, Let's Encrypt by an hour).
type Provenance uint8

// The clocks, in order of trust; a lower value wins.
const (
	ProvenanceNone        Provenance = iota
	ProvenanceCTLog                  // the CT log entry's timestamp
	ProvenanceEmbeddedSCT            // the earliest SCT embedded in the certificate
	ProvenanceSourceTime             // the source's issued-at column
	ProvenanceSpoolMTime             // the spool file's modification time
	ProvenanceFirstSeen              // when the exporter first saw it
	provenanceCount
)

var provenanceNames = [provenanceCount]string{"none", "ct_log", "embedded_sct", "source_issued_at", "spool_mtime", "first_seen"}

func (p Provenance) String() string {
	if p >= provenanceCount {
		return "invalid"
	}
	return provenanceNames[p]
}

// better reports whether p is a more trustworthy clock than q.
func (p Provenance) better(q Provenance) bool {
	return p != ProvenanceNone && (q == ProvenanceNone || p < q)
}
