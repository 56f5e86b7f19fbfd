//! Freed memory kept for reuse instead of handed back to the kernel (glibc only).
//!
//! glibc's malloc serves every block above its mmap threshold (at most 32 MiB) with a fresh `mmap` and `munmap`s it
//! on free. A base-size DeBERTa forward at T = 512 allocates and frees dozens of such blocks per layer (the
//! `[b·H, T, 2T − 1]` relative terms are 12·512·1023·4 B = 25 MB per sequence, the `[b·H, T, T]` scores 12.6 MB),
//! so every pass page-faults its whole working set back in, zero-filled by the kernel: on a 2-core Xeon the
//! batch-4 pass at 512 tokens spent 28 s of system time in 66 s. With `M_MMAP_MAX = 0` every block comes from the
//! heap, and with `M_TRIM_THRESHOLD = −1` (mallopt(3): never trim) the heap's freed top stays mapped, so the next
//! pass reuses it:
//! 3.9 → 3.5 s per sequence at batch 1 and 4.6–4.8 → 3.4–3.6 s at batch 4, for 12 % more peak memory (1.15 →
//! 1.29 GB; `tabs-bench/results/cpu-speed/malloc.txt`, one run each, burn-ndarray). A finite threshold is not
//! enough at long inputs: at T = 4096 one relative term is 1.6 GB, and with the threshold at 2 GiB (the largest
//! `mallopt` takes) glibc still handed the freed top back after every layer: 501 s per pass, two thirds of it in
//! the kernel zeroing pages, against 66.7 s never trimming (burn-flex; README, Speed on CPU). Blocks allocated on worker threads (the rayon
//! pool, where burn-ndarray's matmul allocates its output) still come from `mmap`: a thread's glibc arena is a heap
//! of at most 64 MiB, and glibc maps what does not fit whatever `M_MMAP_MAX` says. Debian's jemalloc and mimalloc
//! (through `LD_PRELOAD`) were slower than glibc's default here (4.8–5.2 s at both batch sizes).
//!
//! The programs of this workspace that run a model call [`reuse_freed_memory`] first; a library user decides for
//! their own program (the two settings are process-wide). Setting `MALLOC_MMAP_MAX_` or `MALLOC_TRIM_THRESHOLD_`
//! in the environment (glibc's own tunables) leaves the choice to the environment.

/// glibc's environment tunables for the two settings; when either is set, the environment decides.
pub const ENV_TUNABLES: [&str; 2] = ["MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_"];

/// Whether the environment sets one of [`ENV_TUNABLES`].
pub fn environment_decides() -> bool {
    ENV_TUNABLES.iter().any(|k| std::env::var_os(k).is_some())
}

/// Applies `M_MMAP_MAX = 0` and `M_TRIM_THRESHOLD = −1` (never trim) to glibc's malloc, unless the environment already
/// sets either. Returns whether the settings were applied (false off glibc, or when the environment decides).
pub fn reuse_freed_memory() -> bool {
    !environment_decides() && apply()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn apply() -> bool {
    // SAFETY: mallopt only changes allocator parameters; it is called before this program starts its threads
    // (and glibc serialises it against concurrent allocation with the arena lock regardless).
    unsafe { libc::mallopt(libc::M_MMAP_MAX, 0) == 1 && libc::mallopt(libc::M_TRIM_THRESHOLD, -1) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn apply() -> bool {
    false
}
