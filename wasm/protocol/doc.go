// Package protocol is the message protocol between the playground's UI
// (main thread) and its training Web Worker (wasm/trainer). It is the only
// thing the two programs share: the UI imports these types, never the
// training engine, so its wasm binary stays small.
//
// # Envelope
//
// Every message, in either direction, is posted as one plain JS object
//
//	{ json: "<JSON text>", buf: ArrayBuffer | undefined }
//
// with the ArrayBuffer (when present) in the transfer list:
//
//	worker.postMessage(env, env.buf ? [env.buf] : [])
//
// so a binary payload moves between threads without being copied, and
// never element by element through JSON. A message carries at most one
// binary payload (Request.Data, Message.Data); when several arrays travel
// together (a snapshot of every ΔW, or ΔW with A and B) they are packed
// into that one buffer and the JSON describes each by a [Tensor]: its
// offset and shape in float32 elements. Floats are little-endian IEEE-754
// float32, the byte order of wasm and of every browser, so the receiver can
// view them in place:
//
//	new Float32Array(env.buf, t.offset * 4, t.rows * t.cols)
//
// In Go, [Request.Encode] / [DecodeRequest] and [Message.Encode] /
// [DecodeMessage] turn a value into (json, payload) and back; the js/wasm
// package protocol/jswire turns that pair into the JS envelope and back.
//
// # Requests (UI → worker)
//
// A [Request] is {"v": 1, "id": n, "type": "...", ...}. v is [Version]; a
// worker refuses any other version with an error naming both. id is chosen
// by the UI (positive, unique among requests in flight) and comes back as
// "re" in the reply. Types and the fields they use:
//
//	configure     config: RunConfig. Loads the base model (once per model name;
//	              later configures reuse it) and, for a built-in task, that
//	              task's data if it is not loaded yet. Always starts a fresh
//	              run: new adapters (or a fresh copy of the base weights for
//	              full/bias), step 0, empty loss history. With task "custom"
//	              the run waits (status.ready false) for load_data.
//	              Reply "configure" with status (status.config holds the values
//	              the worker chose for fields left zero, e.g. seq_len).
//	load_data     After configure (the text is tokenized with the model's
//	              vocabulary). task: a built-in task name ("e2e", "verse", "reverse"), or
//	              "custom" with file_name ("notes.txt", "data.jsonl": the
//	              extension picks the format) and the file's UTF-8 bytes as the
//	              payload; pasted text is sent as "pasted.txt". At most
//	              MaxCustomBytes; larger is refused. Starts a fresh run.
//	              Reply "load_data" with status (status.data holds example and
//	              token counts and the unknown-character report). A .txt
//	              keeps its last 10% (cut at a line end) for validation, a
//	              .jsonl its last 10% of examples (at least one).
//	play          Train in chunks until pause, until config.steps, or until an
//	              error. Reply "play" with status (running: true) at once;
//	              progress events follow. Merged adapters are unmerged first.
//	              At the end of the schedule: a last snapshot, an eval and a
//	              status event (running: false).
//	pause         Stop after the current chunk (at most one chunk, ~50 ms).
//	              Reply "pause" with status (running: false).
//	step          n: take n steps (1..MaxStepN), in chunks, then stop. Progress
//	              events follow each chunk; the reply "step" with progress
//	              comes when the n steps are done (or pause cut them short).
//	reset         Fresh adapters/weights for the same config and data; the
//	              base model is not reloaded. Reply "reset" with status.
//	evaluate      Validation loss (and exact-match accuracy for tasks with
//	              that metric) now. Reply "evaluate" with eval.
//	sample        prompt, tokens, seed, temperature: generate from the base
//	              model (adapters off) and from the adapted model, same prompt
//	              and seed. Reply "sample" with sample.
//	merge         Fold every ΔW into W. Reply "merge" with merge: the measured
//	              max |logit difference| merged vs unmerged on a probe batch and
//	              each adapted layer's shape before and after, and status.
//	              LoRA runs only.
//	unmerge       Undo merge. Reply "unmerge" with status.
//	export        Reply "export" with export (file name, size) and the PEFT
//	              archive (.zip with adapter_config.json and
//	              adapter_model.safetensors) as the payload. LoRA runs only.
//	import        The payload is a PEFT archive. It must have been made for the
//	              loaded base model; otherwise the reply is an error naming the
//	              mismatch (model name or the first layer whose shape differs).
//	              On success the run becomes a LoRA run with the archive's r, α,
//	              targets and matrices at step 0. Reply "import" with status.
//	snapshot      Reply "snapshot" with snapshot and the payload: ΔW for every
//	              adapted matrix of every layer (s·B·A for LoRA, W − W₀ for full
//	              fine-tuning; none for bias or none).
//	inspect       module: a module path such as "h.0.attn.q_proj". Reply
//	              "inspect" with inspect and the payload holding ΔW, A and B
//	              (A and B absent for full fine-tuning), plus ΔW's singular
//	              values.
//	save_state    Reply "save_state" with saved (step, size) and the payload:
//	              bytes for IndexedDB holding the RunConfig, the trainer state
//	              (trainable tensors and AdamW moments), step, loss and
//	              evaluation history, and custom data if the task is custom.
//	restore_state The payload is save_state's bytes. Loads the model and data
//	              they name and continues the run at the saved step. Reply
//	              "restore_state" with status and history.
//	status        Reply "status" with status.
//	experiment_start, experiment_cancel
//	              The paper's Table 5 and Table 6 as an experiment of many
//	              runs, in a worker of its own; see experiment.go.
//	analysis_load, analysis_train, analysis_cancel, subspace, amplify, combine
//	              The paper's §7 (subspace similarity φ, Table 7's
//	              amplification) and PEFT's adapter blending, on the run's
//	              adapter and a second one; see analysis.go.
//	workers       n: train data-parallel on n workers (the worker starts
//	              n−1 shard workers of its own and keeps the run); reply
//	              "workers" with status, whose workers field says how many
//	              train. The workers talk to each other with shard_config and
//	              shard_grad; see shards.go.
//
// # Messages (worker → UI)
//
// A [Message] is {"v": 1, "re": id, "type": "...", ...}. A reply has re set
// to its request's id and, on success, the request's type; a failed request
// is answered by {"type": "error", "re": id, "message": "..."} and changes
// nothing. Unsolicited events have re 0:
//
//	ready     The worker's Go program is running and accepts requests.
//	          (Requests posted earlier are queued by worker.js, not lost.)
//	progress  After each training chunk: progress {step, loss, grad_norm, lr,
//	          tokens_per_sec, running, points: every step's loss in the chunk}.
//	eval      Every config.eval_every steps while training, and at the end
//	          of the schedule: eval. An evaluation runs in slices like
//	          training (the loss over at most MaxEvalRows validation rows,
//	          then accuracy over at most MaxEvalRows prompts); training waits
//	          for it.
//	snapshot  While running, at most every SnapshotInterval: as the reply.
//	status    When training stops by itself (end of schedule, error), and
//	          when shard workers join or are lost (status.workers).
//	error     message: what went wrong, e.g. the trainer's NaN guard
//	          ("training stopped at step 12: the loss became NaN; ...").
//
// Numbers in replies are measured by the worker, never estimated.
package protocol
