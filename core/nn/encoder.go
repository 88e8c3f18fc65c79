package nn

// EncoderForward adds token and position embeddings:
//
//	out[b,t,:] = wte[inp[b,t],:] + wpe[t,:]
//
// out (B,T,C), inp (B,T), wte (V,C), wpe (maxT,C).
func EncoderForward(out []float32, inp []int32, wte, wpe []float32, B, T, C int) {
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			o := out[(b*T+t)*C : (b*T+t+1)*C]
			ix := int(inp[b*T+t])
			w := wte[ix*C : (ix+1)*C]
			p := wpe[t*C : (t+1)*C]
			for i := range o {
				o[i] = w[i] + p[i]
			}
		}
	}
}

// EncoderBackward accumulates the embedding gradients. dwte (V,C) and dwpe
// (maxT,C) may be nil when the embeddings are frozen. dout (B,T,C).
func EncoderBackward(dwte, dwpe []float32, dout []float32, inp []int32, B, T, C int) {
	if dwte == nil && dwpe == nil {
		return
	}
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			d := dout[(b*T+t)*C : (b*T+t+1)*C]
			if dwte != nil {
				ix := int(inp[b*T+t])
				w := dwte[ix*C : (ix+1)*C]
				for i := range d {
					w[i] += d[i]
				}
			}
			if dwpe != nil {
				p := dwpe[t*C : (t+1)*C]
				for i := range d {
					p[i] += d[i]
				}
			}
		}
	}
}
