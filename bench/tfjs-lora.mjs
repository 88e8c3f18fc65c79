// The peer implementation: our model (core/model) and LoRA training step
// (core/lora, core/train) written in TensorFlow.js ops, with gradients from
// TensorFlow.js's autodiff instead of our hand-written backward pass. It
// runs wherever `tf` comes from: node (tfjs-node.mjs) or a browser worker
// (web/tfjs-worker.js); the caller picks the backend.
//
// The model, as core/model computes it (pre-LN GPT-2, tied head):
//
//	x₀ = wte[tokens] + wpe[0:T]                                   (B·T, C)
//	per block: x += o_proj(attn(q_proj(ln₁x), k_proj(ln₁x), v_proj(ln₁x)))
//	           x += down_proj(gelu(up_proj(ln₂x)))
//	logits = ln_f(x)·wteᵀ                                          (B·T, V)
//	loss = Σ w·(-log softmax(logits)[target]) / Σ w
//
// with linear(x) = x·Wᵀ + b, and on the LoRA targets + s·(x·Aᵀ)·Bᵀ,
// s = α/r; causal softmax attention with scale 1/√(C/n_head); GELU's tanh
// form; LayerNorm with biased variance and ε from the fixture.
//
// Only A and B are tf.Variables: tf.variableGrads differentiates with
// respect to them alone, and tfjs prunes its tape to the ops on a path from
// them to the loss, so no gradient of a frozen weight is computed (as in
// ours). The optimiser is ours, in tf ops: the global gradient norm clipped
// to grad_clip, then AdamW (bias-corrected moments, decoupled weight decay
// λ·lr·θ applied to A and B), since tfjs ships no AdamW.
//
// Frozen matrices are stored transposed, (in, out), as tf.layers.dense
// keeps its kernel, so the forward products are tfjs's plain A·B; A and B
// keep PEFT's (r, in) and (out, r).
//
// Two variants of the frozen layers' backward pass (opts.variant):
//
//	"autodiff"  tfjs differentiates x·W' itself: dx = dy·W'ᵀ, a product
//	            with a transposed operand, which tfjs's wasm backend runs
//	            at a small fraction of its plain product's speed
//	"tuned"     tf.customGrad supplies dx = dy·W with W kept in its (out, in)
//	            layout too, a plain product (one more copy of every frozen
//	            matrix): what a tfjs expert could write by hand
//
// Both compute the same numbers; the cross-check runs both.

/**
 * @param tf the TensorFlow.js namespace, backend already set
 * @param fx fixture.json (bench/fixture)
 * @param base Map name → {shape, data} of model.safetensors
 * @param adapters Map name → {shape, data} of adapter_init.safetensors
 * @param opts {variant: 'autodiff' (default) or 'tuned'}, see above
 */
let instances = 0; // tf.Variable names are global: prefix each model's

export function buildLoRAModel(tf, fx, base, adapters, { variant = 'autodiff' } = {}) {
  if (variant !== 'autodiff' && variant !== 'tuned') throw new Error(`tfjs-lora: unknown variant ${variant}; use autodiff or tuned`);
  const tuned = variant === 'tuned';
  const id = `m${++instances}/`;
  const { vocab_size: V, n_embd: C, n_head: NH, n_layer: L } = fx.model;
  const T = fx.seq_len, B = fx.batch, N = B * T, hs = C / NH;
  const eps = fx.layer_norm_eps;
  const get = (name) => {
    const t = base.get(name);
    if (!t) throw new Error(`model.safetensors: tensor ${name} is missing`);
    return t;
  };
  const constant = (name) => { const t = get(name); return tf.tensor(t.data, t.shape); };
  const transposed = (name) => tf.tidy(() => constant(name).transpose());
  // product(x) = x·W' for a frozen W' = Wᵀ (in, out); tuned, its gradient
  // is dy·W with W (out, in) instead of tfjs's dy·W'ᵀ.
  const frozenProduct = (name) => {
    const wT = transposed(name);
    if (!tuned) return (x) => tf.matMul(x, wT);
    const w = constant(name);
    return tf.customGrad((x, save) => ({ value: tf.matMul(x, wT), gradFunc: (dy) => [tf.matMul(dy, w)] }));
  };

  const wte = constant('wte.weight'); // (V,C), for the lookup
  const head = frozenProduct('wte.weight'); // x·wteᵀ, the tied head
  const wpe = tf.tidy(() => constant('wpe.weight').slice([0, 0], [T, C]));
  const modules = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'up_proj', 'down_proj'];
  const blocks = [];
  for (let l = 0; l < L; l++) {
    const blk = {
      ln1w: constant(`h.${l}.ln_1.weight`), ln1b: constant(`h.${l}.ln_1.bias`),
      ln2w: constant(`h.${l}.ln_2.weight`), ln2b: constant(`h.${l}.ln_2.bias`), lin: {},
    };
    for (const m of modules) {
      const p = `h.${l}.${m === 'up_proj' || m === 'down_proj' ? 'mlp' : 'attn'}.${m}`;
      blk.lin[m] = { product: frozenProduct(`${p}.weight`), b: constant(`${p}.bias`), lora: null };
    }
    blocks.push(blk);
  }
  const lnfw = constant('ln_f.weight'), lnfb = constant('ln_f.bias');

  // The adapters: A (r,in) and B (out,r) as variables, in fixture order.
  const vars = [];
  for (const a of fx.lora.adapters) {
    const get = (k) => {
      const t = adapters.get(`${a.path}.${k}`);
      if (!t) throw new Error(`adapter_init.safetensors: tensor ${a.path}.${k} is missing`);
      return t;
    };
    const A = tf.variable(tf.tensor(get('lora_A').data, [a.r, a.in]), true, `${id}${a.path}.lora_A`);
    const Bv = tf.variable(tf.tensor(get('lora_B').data, [a.out, a.r]), true, `${id}${a.path}.lora_B`);
    blocks[a.layer].lin[a.module].lora = { A, B: Bv, scale: a.scale };
    vars.push(A, Bv);
  }
  // AdamW moments, one pair per variable.
  const moments = vars.map((v) => ({ m: tf.variable(tf.zerosLike(v), false), v: tf.variable(tf.zerosLike(v), false) }));
  let t = 0; // steps taken

  // Causal mask: 0 on and below the diagonal, -1e9 above; exp(-1e9 - max)
  // is exactly 0 in float32, so the softmax covers t2 ≤ t only, as ours.
  const mask = tf.tidy(() => tf.sub(tf.ones([T, T]), tf.linalg.bandPart(tf.ones([T, T]), -1, 0)).mul(-1e9));

  const layerNorm = (x, w, b) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return x.sub(mean).mul(tf.rsqrt(variance.add(eps))).mul(w).add(b);
  };
  const linear = (x, lin) => {
    let y = lin.product(x).add(lin.b);
    if (lin.lora) {
      const h = tf.matMul(x, lin.lora.A, false, true).mul(lin.lora.scale); // (N,r)
      y = y.add(tf.matMul(h, lin.lora.B, false, true));
    }
    return y;
  };
  const heads = (x) => x.reshape([B, T, NH, hs]).transpose([0, 2, 1, 3]); // (B,NH,T,hs)
  const gelu = (x) => {
    const u = x.add(x.mul(x).mul(x).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
    return x.mul(0.5).mul(tf.tanh(u).add(1));
  };

  // lossOf builds the forward pass on batch tensors and returns the scalar
  // loss. emb is x₀ (N,C) and targetWeights (N,V) the one-hot targets times
  // w/Σw, both constants of the batch.
  const lossOf = (emb, targetWeights) => {
    let x = emb;
    for (const blk of blocks) {
      const h = layerNorm(x, blk.ln1w, blk.ln1b);
      const q = heads(linear(h, blk.lin.q_proj));
      const k = heads(linear(h, blk.lin.k_proj));
      const v = heads(linear(h, blk.lin.v_proj));
      const att = tf.softmax(tf.matMul(q, k, false, true).mul(1 / Math.sqrt(hs)).add(mask)); // (B,NH,T,T)
      const y = tf.matMul(att, v).transpose([0, 2, 1, 3]).reshape([N, C]);
      x = x.add(linear(y, blk.lin.o_proj));
      const u = gelu(linear(layerNorm(x, blk.ln2w, blk.ln2b), blk.lin.up_proj));
      x = x.add(linear(u, blk.lin.down_proj));
    }
    const logits = head(layerNorm(x, lnfw, lnfb)); // (N,V)
    return tf.logSoftmax(logits).mul(targetWeights).sum().neg();
  };

  // batchTensors turns a batch {inputs, targets, weights} (B·T each) into the
  // forward pass's constants.
  const batchTensors = (batch) => tf.tidy(() => {
    const ids = tf.tensor1d(Int32Array.from(batch.inputs), 'int32');
    const emb = tf.gather(wte, ids).reshape([B, T, C]).add(wpe).reshape([N, C]);
    const w = tf.tensor1d(Float32Array.from(batch.weights));
    const wsum = w.sum();
    const tw = tf.oneHot(tf.tensor1d(Int32Array.from(batch.targets), 'int32'), V).toFloat()
      .mul(w.div(tf.maximum(wsum, 1e-30)).reshape([N, 1]));
    return { emb, tw };
  });

  return {
    variant,
    variables: vars,
    tokensPerStep: N,

    /** loss of batch with the current adapters, no update */
    loss(batch) {
      return tf.tidy(() => {
        const { emb, tw } = batchTensors(batch);
        return lossOf(emb, tw).dataSync()[0];
      });
    },

    /**
     * One training step on batch with learning rate lr: loss, gradients of
     * A and B, clip, AdamW. Returns the loss before the update and the
     * gradient norm before clipping, as core/train's StepResult does.
     */
    step(batch, lr) {
      const { beta1, beta2, eps: adamEps, weight_decay: wd, grad_clip: clip } = fx.optimizer;
      t++;
      const c1 = 1 - Math.pow(beta1, t), c2 = 1 - Math.pow(beta2, t);
      const out = tf.tidy(() => {
        const { emb, tw } = batchTensors(batch);
        const { value, grads } = tf.variableGrads(() => lossOf(emb, tw), vars);
        const gs = vars.map((v) => grads[v.name]);
        const norm = tf.sqrt(tf.addN(gs.map((g) => g.square().sum())));
        // ours: scale by clip/‖g‖ only when ‖g‖ > clip.
        const s = clip > 0 ? tf.where(norm.greater(clip), tf.div(clip, norm), tf.scalar(1)) : tf.scalar(1);
        vars.forEach((p, i) => {
          const g = gs[i].mul(s);
          const { m, v } = moments[i];
          const mi = m.mul(beta1).add(g.mul(1 - beta1));
          const vi = v.mul(beta2).add(g.square().mul(1 - beta2));
          m.assign(mi);
          v.assign(vi);
          const upd = mi.mul(lr / c1).div(tf.sqrt(vi.mul(1 / c2)).add(adamEps)).add(p.mul(lr * wd));
          p.assign(p.sub(upd));
        });
        return tf.stack([value, norm]);
      });
      const [loss, gradNorm] = out.dataSync();
      out.dispose();
      return { loss, gradNorm };
    },

    /** the adapters' current values, name → Float32Array */
    adapterValues() {
      return new Map(vars.map((v) => [v.name.slice(id.length), v.dataSync().slice()]));
    },
  };
}

/**
 * Times model.step as `lora bench` times ours: warmup untimed steps (V8
 * first runs wasm in its baseline tier), then steps timed ones, cycling
 * through the fixture's batches at the first step's learning rate (the
 * speed of a step does not depend on either).
 */
export function benchSteps(model, fx, { steps = 30, warmup = 5 } = {}) {
  const lr = fx.steps[0].lr;
  let k = 0;
  const next = () => fx.steps[k++ % fx.steps.length];
  for (let i = 0; i < warmup; i++) model.step(next(), lr);
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) model.step(next(), lr);
  const ms = performance.now() - t0;
  return { steps, ms_per_step: ms / steps, tokens_per_sec: (steps * model.tokensPerStep) / (ms / 1000) };
}
