package protocol

// AdaptiveConfig configures a run with method "adaptive" (AdaLoRA: each
// matrix starts at InitRank and the least important singular values are
// pruned during training until the matrices hold TargetRank on average).
// The adapter's α, dropout and targets are RunConfig's. Zero fields take
// the defaults of core/adalora.DefaultConfig for the run's steps.
type AdaptiveConfig struct {
	InitRank   int `json:"init_rank"`              // r⁽⁰⁾ per matrix
	TargetRank int `json:"target_rank"`            // average final rank per matrix
	Warmup     int `json:"prune_warmup,omitempty"` // steps before pruning starts; default 10% of steps
	Final      int `json:"prune_final,omitempty"`  // steps at the final ranks; default 30% of steps
	Every      int `json:"prune_every,omitempty"`  // prune every this many steps; default 10
}

// AdaptiveStatus is the rank allocation of an adaptive run, sent with the
// status and with every progress event.
type AdaptiveStatus struct {
	InitRank     int      `json:"init_rank"`
	TargetBudget int      `json:"target_budget"` // total rank at the end
	Budget       int      `json:"budget"`        // total rank the schedule allows now
	Modules      []string `json:"modules"`       // matrices, in Ranks order
	Ranks        []int    `json:"ranks"`         // current rank of each matrix
	// History has the ranks after every pruning step that changed one, and
	// at step 0.
	History []RankStep `json:"history"`
}

// RankStep is the ranks of every matrix after step Step.
type RankStep struct {
	Step   int   `json:"step"`
	Budget int   `json:"budget"`
	Ranks  []int `json:"ranks"`
}
