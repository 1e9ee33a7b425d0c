//! argon2's working memory, reused from one hash to the next.
//!
//! argon2id with the default parameters fills 19 MiB per hash. Allocated and freed on every
//! login, those buffers end up in glibc's per-thread arenas, which keep them: a peer that
//! hashes on many blocking threads was measured at 7.3 GiB after a 10-second login flood, and
//! this crate, before this module, at 700–780 MB. Keeping a few buffers and handing them from
//! one hash to the next keeps memory flat at about one buffer per hash running at once.
//!
//! The buffers hold intermediate state derived from passwords, as the freed allocations did
//! before (the `argon2` crate does not zero them either); nothing reads them but the next
//! hash, which overwrites every block before reading it.

use std::sync::{Mutex, PoisonError};

use ::argon2::Block;

/// Buffers kept between hashes, at most: two per core covers the default hashing pool (one
/// permit per core); hashes beyond it still work, with a buffer of their own that is freed.
fn kept_buffers() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from) * 2
}

/// Free buffers, each of some number of blocks, and how many to keep.
struct BlockCache {
    free: Mutex<Vec<Vec<Block>>>,
}

/// The process-wide cache (hashers share the process-wide hashing pool too).
static CACHE: BlockCache = BlockCache {
    free: Mutex::new(Vec::new()),
};

/// Runs `f` with `count` blocks of working memory: a kept buffer when one is large enough,
/// otherwise a new one, which is kept afterwards when there is room.
pub(crate) fn with_blocks<R>(count: usize, f: impl FnOnce(&mut [Block]) -> R) -> R {
    CACHE.with_blocks(count, kept_buffers(), f)
}

impl BlockCache {
    fn with_blocks<R>(&self, count: usize, keep: usize, f: impl FnOnce(&mut [Block]) -> R) -> R {
        let reused = {
            let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
            free.iter()
                .position(|buffer| buffer.len() >= count)
                .map(|index| free.swap_remove(index))
        };
        let mut buffer = reused.unwrap_or_else(|| vec![Block::default(); count]);
        let result = f(&mut buffer[..count]);
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        if free.len() < keep {
            free.push(buffer);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_reused_and_bounded() {
        let cache = BlockCache {
            free: Mutex::new(Vec::new()),
        };
        // One call leaves a buffer behind; the next call of the same size gets that very
        // buffer back instead of allocating.
        let first = cache.with_blocks(64, 2, |blocks| blocks.as_ptr() as usize);
        let second = cache.with_blocks(64, 2, |blocks| blocks.as_ptr() as usize);
        assert_eq!(first, second);
        // Smaller requests fit in a kept buffer too.
        cache.with_blocks(8, 2, |blocks| assert_eq!(blocks.len(), 8));
        // Five at once (nested): each gets its own, and only two are kept.
        fn nest(cache: &BlockCache, depth: usize) {
            if depth > 0 {
                cache.with_blocks(16, 2, |_| nest(cache, depth - 1));
            }
        }
        nest(&cache, 5);
        assert_eq!(cache.free.lock().unwrap().len(), 2);
    }
}
