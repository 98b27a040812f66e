// Package tracked holds what the engine keeps of each term it tracks in
// detail, beyond the sketches' counts: its history of closed buckets (the
// mentions, reports and unique creators the detectors read), and in each open
// bucket its exact counts, unique creators and reporters, top regions,
// languages, reasons and spellings, and samples. The engine counts into a
// term's open buckets as events come (Term.Bucket), reads them at the bucket's
// close (Bucket.Describe) and then pushes the bucket onto the history
// (Term.PushHistory, Term.Close), reusing its memory (Pool).
//
// A tracked term's open buckets are written by one goroutine, the engine's;
// nothing here locks.
package tracked
