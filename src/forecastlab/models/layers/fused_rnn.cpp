// Fused CPU loops for the masked (recurrent-dropout) LSTM and GRU of bptt.py.
//
// Each function runs a whole sequence in one call and writes the same buffers, in the same layouts, as
// the TorchScript loops it replaces (see bptt.py): per sample and timestep, the masked state, the tiny
// recurrent matmul, the activations and the state update happen while the data sits in L1, instead of
// ~12 ATen ops that each stream a (B, u) or (G, B, u) array through memory.
// tanh(x) is 2*sigmoid(2x) - 1, as in the TorchScript loops. float uses a polynomial exp that gcc can
// vectorize (std::exp does not vectorize without -ffast-math, which we avoid); double uses std::exp.
// Only <torch/library.h> and ATen's core headers are included: no pybind, so it compiles in seconds.

#include <ATen/core/Tensor.h>
#include <ATen/Dispatch.h>
#include <torch/library.h>

#include <cstdint>
#include <vector>

namespace {

// Cephes expf: range reduction by ln 2 and a degree-6 polynomial, within ~1 ulp; NaN propagates.
inline float exp_approx(float x) {
  x = x < -87.3f ? -87.3f : x;
  x = x > 88.3f ? 88.3f : x;
  // n = round(x / ln 2) by the 1.5 * 2^23 trick: floorf would stop gcc from vectorizing the loop.
  float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * r * r + r + 1.0f;
  // 2^n from its exponent bits; a bit cast, not memcpy, so that the loop still vectorizes.
  return y * __builtin_bit_cast(float, (static_cast<int32_t>(n) + 127) << 23);
}

inline float sigm(float x) { return 1.0f / (1.0f + exp_approx(-x)); }
inline double sigm(double x) { return 1.0 / (1.0 + __builtin_exp(-x)); }
template <typename T> inline T tanh_(T x) { return T(2) * sigm(T(2) * x) - T(1); }

// The accumulator width: one zmm register with AVX-512, one ymm without. 64-byte vectors on an AVX2-only
// CPU (a Zen 3 EPYC here) spill to the stack and made the LSTM step 12x slower than 32-byte ones.
#ifdef __AVX512F__
constexpr int VBYTES = 64;
#else
constexpr int VBYTES = 32;
#endif

// acc[j] += sum_k v[k] * m[k * u + j]: one row of masked state times a (u, u) block.
// With a compile-time U the accumulators are VBYTES-wide vector registers (GCC vector extensions), two
// partial sums over even and odd k, so the FMA chains overlap; otherwise a plain loop that gcc vectorizes.
template <typename T, int U>
inline void gemv_acc(T* __restrict acc, const T* __restrict v, const T* __restrict m, int64_t u_rt) {
  if constexpr (U > 0) {
    typedef T V __attribute__((vector_size(VBYTES)));
    constexpr int L = VBYTES / sizeof(T), NV = U / L;
    static_assert(U % (2 * L) == 0, "U must fill whole vectors");
    V a0[NV], a1[NV], row;
    for (int q = 0; q < NV; ++q) {
      __builtin_memcpy(&a0[q], acc + q * L, sizeof(V));
      a1[q] = V{} ;
    }
    for (int k = 0; k < U; k += 2) {
      const T s0 = v[k], s1 = v[k + 1];
      for (int q = 0; q < NV; ++q) {
        __builtin_memcpy(&row, m + k * U + q * L, sizeof(V));
        a0[q] += s0 * row;
        __builtin_memcpy(&row, m + (k + 1) * U + q * L, sizeof(V));
        a1[q] += s1 * row;
      }
    }
    for (int q = 0; q < NV; ++q) {
      const V sum = a0[q] + a1[q];
      __builtin_memcpy(acc + q * L, &sum, sizeof(V));
    }
  } else {
    for (int64_t k = 0; k < u_rt; ++k) {
      const T s = v[k];
      const T* __restrict row = m + k * u_rt;
#pragma GCC ivdep
      for (int64_t j = 0; j < u_rt; ++j) acc[j] += s * row[j];
    }
  }
}

struct XStrides { int64_t t, b, g; };

XStrides xstrides(const at::Tensor& xp) {
  TORCH_CHECK(xp.dim() == 4 && xp.stride(3) == 1, "xp must be (T, B, G, u) with unit stride on u");
  return {xp.stride(0), xp.stride(1), xp.stride(2)};
}

void check_contig(std::initializer_list<const at::Tensor*> ts) {
  for (auto* t : ts) TORCH_CHECK(t->is_contiguous() && t->device().is_cpu(), "fused_rnn: contiguous CPU tensors");
}

// dW[g] += sum_b d_g[b]^T (h[b] * m_g[b]) for one timestep, the recurrent-weight gradient formed while
// that step's gate derivatives are still in cache (instead of a separate pass over all T*B rows, which
// would also need the masked states stored by the forward: ~15 MB written and read back per layer).
// d_g[b] is at d[g * dg + b * db]; C is a (u, u) float scratch per gate, added into the double dW per
// timestep, so summing T*B terms loses no precision.
template <typename T, int U>
void wgrad_step(double* dW, T* C, const T* d, int64_t dg, int64_t db, const T* h, const T* masks, int64_t G,
                int64_t B, int64_t u_rt) {
  const int64_t u = U > 0 ? U : u_rt;
  for (int64_t g = 0; g < G; ++g) {
    const T* __restrict dgp = d + g * dg;
    const T* __restrict mg = masks + g * B * u;
    if constexpr (U > 0) {
      typedef T V __attribute__((vector_size(VBYTES)));
      constexpr int L = VBYTES / sizeof(T), NV = U / L, R = 8;  // R rows of C x U columns in registers
      static_assert(U % L == 0 && U % R == 0, "U must fill whole vectors");
      for (int j0 = 0; j0 < U; j0 += R) {
        V acc[R][NV];
        for (int r = 0; r < R; ++r)
          for (int q = 0; q < NV; ++q) acc[r][q] = V{};
        for (int64_t b = 0; b < B; ++b) {
          V hv[NV], mv;
          for (int q = 0; q < NV; ++q) {
            __builtin_memcpy(&hv[q], h + b * U + q * L, sizeof(V));
            __builtin_memcpy(&mv, mg + b * U + q * L, sizeof(V));
            hv[q] *= mv;
          }
          const T* __restrict dj = dgp + b * db + j0;
          for (int r = 0; r < R; ++r)
            for (int q = 0; q < NV; ++q) acc[r][q] += dj[r] * hv[q];
        }
        for (int r = 0; r < R; ++r)
          for (int q = 0; q < NV; ++q) __builtin_memcpy(C + (j0 + r) * U + q * L, &acc[r][q], sizeof(V));
      }
    } else {
      for (int64_t i = 0; i < u * u; ++i) C[i] = T(0);
      for (int64_t b = 0; b < B; ++b) {
        for (int64_t j = 0; j < u; ++j) {
          const T s = dgp[b * db + j];
          T* __restrict row = C + j * u;
#pragma GCC ivdep
          for (int64_t k = 0; k < u; ++k) row[k] += s * h[b * u + k] * mg[b * u + k];
        }
      }
    }
    double* __restrict out = dW + g * u * u;
    for (int64_t i = 0; i < u * u; ++i) out[i] += static_cast<double>(C[i]);
  }
}

// ---------------------------------------------------------------------------------------- LSTM
template <typename T, int U>
void lstm_fwd(const T* xp, XStrides xs, const T* rk, const T* masks, T* act, T* c, T* tc, T* hs,
              int64_t Tn, int64_t B, int64_t u_rt) {
  constexpr int64_t G = 4;
  const int64_t u = U > 0 ? U : u_rt;
  std::vector<T> pre_buf(G * u), hg_buf(u), zero(u, T(0));
  T* __restrict pre = pre_buf.data();
  T* __restrict hg = hg_buf.data();
  for (int64_t t = 0; t < Tn; ++t) {
    for (int64_t b = 0; b < B; ++b) {
      const T* __restrict h = t ? hs + ((t - 1) * B + b) * u : zero.data();
      for (int64_t g = 0; g < G; ++g) {
        const T* __restrict m = masks + (g * B + b) * u;
        const T* __restrict x = xp + t * xs.t + b * xs.b + g * xs.g;
        T* __restrict p = pre + g * u;
        for (int64_t k = 0; k < u; ++k) hg[k] = h[k] * m[k];
        for (int64_t j = 0; j < u; ++j) p[j] = x[j];
        gemv_acc<T, U>(p, hg, rk + g * u * u, u);
      }
      const T* __restrict cp = c + (t * B + b) * u;
      T* __restrict cn = c + ((t + 1) * B + b) * u;
      T* __restrict tcn = tc + (t * B + b) * u;
      T* __restrict hn = hs + (t * B + b) * u;
      T* __restrict ai = act + ((t * G + 0) * B + b) * u;
      T* __restrict af = act + ((t * G + 1) * B + b) * u;
      T* __restrict ag = act + ((t * G + 2) * B + b) * u;
      T* __restrict ao = act + ((t * G + 3) * B + b) * u;
#pragma GCC ivdep
      for (int64_t j = 0; j < u; ++j) {
        const T i = sigm(pre[j]), f = sigm(pre[u + j]), gg = tanh_(pre[2 * u + j]), o = sigm(pre[3 * u + j]);
        const T cc = f * cp[j] + i * gg;
        const T th = tanh_(cc);
        ai[j] = i; af[j] = f; ag[j] = gg; ao[j] = o;
        cn[j] = cc; tcn[j] = th; hn[j] = o * th;
      }
    }
  }
}

template <typename T, int U>
void lstm_bwd(const T* dhs, const T* w, const T* masks, const T* act, const T* c, const T* tc, const T* hs,
              T* dpre, double* dW, int64_t Tn, int64_t B, int64_t u_rt) {
  constexpr int64_t G = 4;
  const int64_t u = U > 0 ? U : u_rt;
  std::vector<T> dh_rec(B * u, T(0)), dc_carry(B * u, T(0)), acc_buf(u), C(u * u);
  T* __restrict acc = acc_buf.data();
  for (int64_t t = Tn - 1; t >= 0; --t) {
    for (int64_t b = 0; b < B; ++b) {
      const T* __restrict ai = act + ((t * G + 0) * B + b) * u;
      const T* __restrict af = act + ((t * G + 1) * B + b) * u;
      const T* __restrict ag = act + ((t * G + 2) * B + b) * u;
      const T* __restrict ao = act + ((t * G + 3) * B + b) * u;
      const T* __restrict cp = c + (t * B + b) * u;  // c(t-1)
      const T* __restrict th = tc + (t * B + b) * u;
      const T* __restrict dh_out = dhs + (t * B + b) * u;
      T* __restrict dhr = dh_rec.data() + b * u;
      T* __restrict dcc = dc_carry.data() + b * u;
      T* __restrict d = dpre + (t * B + b) * G * u;
#pragma GCC ivdep
      for (int64_t j = 0; j < u; ++j) {
        const T i = ai[j], f = af[j], gg = ag[j], o = ao[j], tj = th[j];
        const T dh = dh_out[j] + dhr[j];
        const T dc = dcc[j] + dh * o * (T(1) - tj * tj);
        d[j] = dc * gg * (i - i * i);
        d[u + j] = dc * cp[j] * (f - f * f);
        d[2 * u + j] = dc * i * (T(1) - gg * gg);
        d[3 * u + j] = dh * tj * (o - o * o);
        dcc[j] = dc * f;
      }
      for (int64_t k = 0; k < u; ++k) dhr[k] = T(0);
      for (int64_t g = 0; g < G; ++g) {
        for (int64_t k = 0; k < u; ++k) acc[k] = T(0);
        gemv_acc<T, U>(acc, d + g * u, w + g * u * u, u);  // d_g @ w_g
        const T* __restrict m = masks + (g * B + b) * u;
        for (int64_t k = 0; k < u; ++k) dhr[k] += acc[k] * m[k];
      }
    }
    if (t > 0)  // h(-1) = 0 adds nothing
      wgrad_step<T, U>(dW, C.data(), dpre + t * B * G * u, u, G * u, hs + (t - 1) * B * u, masks, G, B, u);
  }
}

// ----------------------------------------------------------------------------------------- GRU
template <typename T, int U>
void gru_fwd(const T* xp, XStrides xs, const T* rk, const T* rb, const T* masks, T* act, T* rec_n, T* hs,
             int64_t Tn, int64_t B, int64_t u_rt) {
  constexpr int64_t G = 3;
  const int64_t u = U > 0 ? U : u_rt;
  std::vector<T> rec_buf(G * u), hg_buf(u);
  T* __restrict rec = rec_buf.data();
  T* __restrict hg = hg_buf.data();
  for (int64_t t = 0; t < Tn; ++t) {
    for (int64_t b = 0; b < B; ++b) {
      const T* __restrict h = hs + (t * B + b) * u;
      for (int64_t g = 0; g < G; ++g) {
        const T* __restrict m = masks + (g * B + b) * u;
        T* __restrict p = rec + g * u;
        for (int64_t k = 0; k < u; ++k) hg[k] = h[k] * m[k];
        for (int64_t j = 0; j < u; ++j) p[j] = rb[g * u + j];
        gemv_acc<T, U>(p, hg, rk + g * u * u, u);
      }
      const T* __restrict xr = xp + t * xs.t + b * xs.b;
      const T* __restrict xz = xr + xs.g;
      const T* __restrict xn = xr + 2 * xs.g;
      T* __restrict ar = act + ((t * G + 0) * B + b) * u;
      T* __restrict az = act + ((t * G + 1) * B + b) * u;
      T* __restrict an = act + ((t * G + 2) * B + b) * u;
      T* __restrict rn = rec_n + (t * B + b) * u;
      T* __restrict hn = hs + ((t + 1) * B + b) * u;
#pragma GCC ivdep
      for (int64_t j = 0; j < u; ++j) {
        const T r = sigm(xr[j] + rec[j]), z = sigm(xz[j] + rec[u + j]);
        const T n = tanh_(xn[j] + r * rec[2 * u + j]);
        ar[j] = r; az[j] = z; an[j] = n; rn[j] = rec[2 * u + j];
        hn[j] = n + z * (h[j] - n);
      }
    }
  }
}

// dxp (T, B, 3, u) is the input-projection gradient. The recurrent terms differ from it only in the n
// gate (times r), kept for one timestep in a (B, u) scratch. The recurrent-bias and recurrent-weight
// gradients are summed here too (float per timestep, then into double: no precision lost).
template <typename T, int U>
void gru_bwd(const T* dhs, const T* w, const T* masks, const T* act, const T* rec_n, const T* hs, T* dxp,
             double* db, double* dW, int64_t Tn, int64_t B, int64_t u_rt) {
  constexpr int64_t G = 3;
  const int64_t u = U > 0 ? U : u_rt;
  std::vector<T> dh_rec(B * u, T(0)), acc_buf(u), db_buf(G * u), dn_buf(B * u), C(u * u);
  T* __restrict acc = acc_buf.data();
  T* __restrict db_t = db_buf.data();
  for (int64_t t = Tn - 1; t >= 0; --t) {
    for (int64_t i = 0; i < G * u; ++i) db_t[i] = T(0);
    for (int64_t b = 0; b < B; ++b) {
      const T* __restrict ar = act + ((t * G + 0) * B + b) * u;
      const T* __restrict az = act + ((t * G + 1) * B + b) * u;
      const T* __restrict an = act + ((t * G + 2) * B + b) * u;
      const T* __restrict rn = rec_n + (t * B + b) * u;
      const T* __restrict h = hs + (t * B + b) * u;  // h(t-1)
      const T* __restrict dh_out = dhs + (t * B + b) * u;
      T* __restrict dhr = dh_rec.data() + b * u;
      T* __restrict x = dxp + (t * B + b) * G * u;
      T* __restrict dn_rec = dn_buf.data() + b * u;
#pragma GCC ivdep
      for (int64_t j = 0; j < u; ++j) {
        const T r = ar[j], z = az[j], n = an[j];
        const T dh = dh_out[j] + dhr[j];
        const T dn = dh * (T(1) - z) * (T(1) - n * n);
        const T dr = dn * rn[j] * (r - r * r);
        const T dz = dh * (h[j] - n) * (z - z * z);
        x[j] = dr; x[u + j] = dz; x[2 * u + j] = dn;
        dn_rec[j] = dn * r;
        db_t[j] += dr; db_t[u + j] += dz; db_t[2 * u + j] += dn * r;
        dhr[j] = dh * z;  // the unmasked path through the update z*h(t-1)
      }
      for (int64_t g = 0; g < G; ++g) {
        for (int64_t k = 0; k < u; ++k) acc[k] = T(0);
        gemv_acc<T, U>(acc, g < 2 ? x + g * u : dn_rec, w + g * u * u, u);
        const T* __restrict m = masks + (g * B + b) * u;
        for (int64_t k = 0; k < u; ++k) dhr[k] += acc[k] * m[k];
      }
    }
    for (int64_t i = 0; i < G * u; ++i) db[i] += static_cast<double>(db_t[i]);
    if (t > 0) {  // h(-1) = 0 adds nothing to dW
      const T* h = hs + t * B * u;
      const T* x_t = dxp + t * B * G * u;
      wgrad_step<T, U>(dW, C.data(), x_t, u, G * u, h, masks, 2, B, u);  // r, z: the dxp blocks
      wgrad_step<T, U>(dW + 2 * u * u, C.data(), dn_buf.data(), 0, u, h, masks + 2 * B * u, 1, B, u);
    }
  }
}

// Units = 32 (the book's models) gets a compile-time size, so the inner loops fully vectorize.
#define FUSED_DISPATCH(NAME, FN, TENSOR, U, ...)                        \
  AT_DISPATCH_FLOATING_TYPES(TENSOR.scalar_type(), NAME, [&] {          \
    if (U == 32) FN<scalar_t, 32>(__VA_ARGS__); else FN<scalar_t, 0>(__VA_ARGS__); \
  })

#define P(t) t.data_ptr<scalar_t>()

void check_double(const at::Tensor& t, int64_t n) {
  TORCH_CHECK(t.scalar_type() == at::kDouble && t.is_contiguous() && t.numel() == n,
              "fused_rnn: float64 accumulator of ", n, " elements expected");
}

void lstm_forward(const at::Tensor& xp, const at::Tensor& rk, const at::Tensor& masks, const at::Tensor& act,
                  const at::Tensor& c, const at::Tensor& tc, const at::Tensor& hs) {
  check_contig({&rk, &masks, &act, &c, &tc, &hs});
  const int64_t Tn = xp.size(0), B = xp.size(1), u = xp.size(3);
  const XStrides xs = xstrides(xp);
  FUSED_DISPATCH("lstm_forward", lstm_fwd, xp, u, P(xp), xs, P(rk), P(masks), P(act), P(c), P(tc), P(hs), Tn,
                 B, u);
}

void lstm_backward(const at::Tensor& dhs, const at::Tensor& w, const at::Tensor& masks, const at::Tensor& act,
                   const at::Tensor& c, const at::Tensor& tc, const at::Tensor& hs, const at::Tensor& dpre,
                   const at::Tensor& dW) {
  check_contig({&dhs, &w, &masks, &act, &c, &tc, &hs, &dpre});
  const int64_t Tn = dhs.size(0), B = dhs.size(1), u = dhs.size(2);
  check_double(dW, 4 * u * u);
  FUSED_DISPATCH("lstm_backward", lstm_bwd, dhs, u, P(dhs), P(w), P(masks), P(act), P(c), P(tc), P(hs),
                 P(dpre), dW.data_ptr<double>(), Tn, B, u);
}

void gru_forward(const at::Tensor& xp, const at::Tensor& rk, const at::Tensor& rb, const at::Tensor& masks,
                 const at::Tensor& act, const at::Tensor& rec_n, const at::Tensor& hs) {
  check_contig({&rk, &rb, &masks, &act, &rec_n, &hs});
  const int64_t Tn = xp.size(0), B = xp.size(1), u = xp.size(3);
  const XStrides xs = xstrides(xp);
  FUSED_DISPATCH("gru_forward", gru_fwd, xp, u, P(xp), xs, P(rk), P(rb), P(masks), P(act), P(rec_n), P(hs),
                 Tn, B, u);
}

void gru_backward(const at::Tensor& dhs, const at::Tensor& w, const at::Tensor& masks, const at::Tensor& act,
                  const at::Tensor& rec_n, const at::Tensor& hs, const at::Tensor& dxp, const at::Tensor& db,
                  const at::Tensor& dW) {
  check_contig({&dhs, &w, &masks, &act, &rec_n, &hs, &dxp});
  const int64_t Tn = dhs.size(0), B = dhs.size(1), u = dhs.size(2);
  check_double(db, 3 * u);
  check_double(dW, 3 * u * u);
  FUSED_DISPATCH("gru_backward", gru_bwd, dhs, u, P(dhs), P(w), P(masks), P(act), P(rec_n), P(hs), P(dxp),
                 db.data_ptr<double>(), dW.data_ptr<double>(), Tn, B, u);
}

}  // namespace

TORCH_LIBRARY(forecastlab_fused, m) {
  m.def("lstm_forward(Tensor xp, Tensor rk, Tensor masks, Tensor(a!) act, Tensor(b!) c, Tensor(c!) tc, "
        "Tensor(d!) hs) -> ()", &lstm_forward);
  m.def("lstm_backward(Tensor dhs, Tensor w, Tensor masks, Tensor act, Tensor c, Tensor tc, Tensor hs, "
        "Tensor(a!) dpre, Tensor(b!) dW) -> ()", &lstm_backward);
  m.def("gru_forward(Tensor xp, Tensor rk, Tensor rb, Tensor masks, Tensor(a!) act, Tensor(b!) rec_n, "
        "Tensor(c!) hs) -> ()", &gru_forward);
  m.def("gru_backward(Tensor dhs, Tensor w, Tensor masks, Tensor act, Tensor rec_n, Tensor hs, "
        "Tensor(a!) dxp, Tensor(b!) db, Tensor(c!) dW) -> ()", &gru_backward);
}
