//! The read plan: (file, row group, row-drop partition) items in a deterministic order,
//! sharded like upstream (shard the ordered row groups, then shuffle each epoch), and the
//! seeded shuffles (a self-contained SplitMix64).

use std::collections::HashSet;

use crate::error::{Error, Result};

/// One row group of one file, with its row count when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowGroup {
    pub file: usize,
    pub row_group: usize,
}

/// A unit of work: a row group, or part `part` of `parts` of its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    pub file: usize,
    pub row_group: usize,
    pub part: u32,
    pub parts: u32,
}

/// How to order and repeat the items.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The row groups of this shard, in plan order.
    pub row_groups: Vec<RowGroup>,
    /// One epoch's items before shuffling.
    pub items: Vec<Item>,
    pub shuffle: bool,
    /// Base seed of every shuffle (the user's seed, or a random one).
    pub seed: u64,
    /// `None`: forever.
    pub num_epochs: Option<u64>,
}

/// Sharding and shuffling settings.
#[derive(Debug, Clone, Copy)]
pub struct PlanSettings {
    pub shard: Option<(u64, u64)>,
    pub shard_seed: Option<u64>,
    pub row_drop_partitions: u64,
    pub shuffle: bool,
    pub seed: Option<u64>,
    pub num_epochs: Option<u64>,
}

impl Plan {
    /// Builds the plan from the selected row groups (already in path/index order).
    /// An empty result is a `NoData` error.
    pub fn new(mut row_groups: Vec<RowGroup>, settings: PlanSettings) -> Result<Plan> {
        let total = row_groups.len();
        if let Some(seed) = settings.shard_seed {
            shuffle(&mut row_groups, &mut SplitMix64::new(seed));
        }
        if let Some((cur, count)) = settings.shard {
            row_groups =
                row_groups.into_iter().enumerate().filter(|(i, _)| *i as u64 % count == cur).map(|(_, g)| g).collect();
            if row_groups.is_empty() {
                return Err(Error::no_data(format!(
                    "shard {cur} of {count} is empty: the dataset has {total} row groups after filtering; \
                     the number of shards must not exceed the number of row groups"
                )));
            }
        }
        if row_groups.is_empty() {
            return Err(Error::no_data(
                "no row groups to read: the dataset is empty or every row group was filtered out",
            ));
        }
        let parts = u32::try_from(settings.row_drop_partitions)
            .map_err(|_| Error::value("shuffle_row_drop_partitions is too large"))?;
        let items = row_groups
            .iter()
            .flat_map(|g| (0..parts).map(move |part| Item { file: g.file, row_group: g.row_group, part, parts }))
            .collect();
        Ok(Plan {
            row_groups,
            items,
            shuffle: settings.shuffle,
            seed: settings.seed.unwrap_or_else(random_seed),
            num_epochs: settings.num_epochs,
        })
    }

    /// The items of epoch `epoch` (a global counter that goes on across resets).
    pub fn epoch_items(&self, epoch: u64) -> Vec<Item> {
        let mut items = self.items.clone();
        if self.shuffle {
            shuffle(&mut items, &mut SplitMix64::new(derive(self.seed, epoch, 0)));
        }
        items
    }

    /// The seed for shuffling the rows of the `index`-th item of `epoch`.
    pub fn rows_seed(&self, epoch: u64, index: u64) -> u64 {
        derive(self.seed, epoch, index.wrapping_add(1))
    }
}

/// Keeps the row groups whose piece index is in `selected`. Pieces are numbered as upstream
/// numbers them: the row groups of every data file (`counts[file]` of them), files in plan
/// order. An index past the last piece is a `Value` error.
pub fn select_pieces(row_groups: Vec<RowGroup>, counts: &[usize], selected: &[u64]) -> Result<Vec<RowGroup>> {
    let first: Vec<u64> = counts
        .iter()
        .scan(0u64, |next, &count| {
            let first = *next;
            *next += count as u64;
            Some(first)
        })
        .collect();
    let total = counts.iter().map(|&c| c as u64).sum::<u64>();
    if let Some(bad) = selected.iter().find(|&&piece| piece >= total) {
        return Err(Error::value(format!(
            "row_groups: there is no row group {bad}: the dataset has {total} (numbered from 0)"
        )));
    }
    let selected: HashSet<u64> = selected.iter().copied().collect();
    Ok(row_groups.into_iter().filter(|g| selected.contains(&(first[g.file] + g.row_group as u64))).collect())
}

/// Walks epochs of a plan, `epochs` of them (`None`: forever), numbering epochs from `first`.
#[derive(Debug, Clone)]
pub struct Cursor {
    /// The number the next loaded epoch gets.
    next_epoch: u64,
    epoch: u64,
    epochs_left: Option<u64>,
    order: Vec<Item>,
    pos: usize,
}

impl Cursor {
    pub fn new(plan: &Plan, first_epoch: u64) -> Cursor {
        Cursor { next_epoch: first_epoch, epoch: first_epoch, epochs_left: plan.num_epochs, order: Vec::new(), pos: 0 }
    }

    /// The next item, its epoch and its index in that epoch.
    pub fn next(&mut self, plan: &Plan) -> Option<(Item, u64, u64)> {
        if self.pos == self.order.len() {
            match &mut self.epochs_left {
                Some(0) => return None,
                Some(n) => *n -= 1,
                None => {}
            }
            self.epoch = self.next_epoch;
            self.next_epoch += 1;
            self.order = plan.epoch_items(self.epoch);
            self.pos = 0;
        }
        let item = self.order[self.pos];
        self.pos += 1;
        Some((item, self.epoch, self.pos as u64 - 1))
    }

    /// The epoch number a new cursor should start from after this one.
    pub fn next_epoch(&self) -> u64 {
        self.next_epoch
    }
}

/// SplitMix64: a tiny, well-distributed 64-bit generator.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in `0..n` (n > 0), without modulo bias.
    pub fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let v = self.next_u64();
            if v < zone {
                return v % n;
            }
        }
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A seed derived from a base seed and two counters.
pub fn derive(seed: u64, a: u64, b: u64) -> u64 {
    mix(mix(seed ^ mix(a.wrapping_add(0x632B_E59B_D9B4_E019))) ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Fisher–Yates.
pub fn shuffle<T>(items: &mut [T], rng: &mut SplitMix64) {
    for i in (1..items.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

/// A seed from the clock, the process id and an address (no seed given).
fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let local = 0u8;
    mix(nanos ^ mix(u64::from(std::process::id())) ^ mix(&local as *const u8 as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(n: usize) -> Vec<RowGroup> {
        (0..n).map(|i| RowGroup { file: i / 2, row_group: i % 2 }).collect()
    }

    fn settings() -> PlanSettings {
        PlanSettings {
            shard: None,
            shard_seed: None,
            row_drop_partitions: 1,
            shuffle: true,
            seed: Some(7),
            num_epochs: Some(2),
        }
    }

    #[test]
    fn shards_are_disjoint_and_cover() {
        let mut seen = Vec::new();
        for cur in 0..3 {
            let plan = Plan::new(groups(10), PlanSettings { shard: Some((cur, 3)), ..settings() }).unwrap();
            seen.extend(plan.row_groups);
        }
        seen.sort_by_key(|g| (g.file, g.row_group));
        assert_eq!(seen, groups(10));
        let e = Plan::new(groups(2), PlanSettings { shard: Some((2, 3)), ..settings() }).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::NoData);
    }

    #[test]
    fn epochs_are_seeded_and_counted() {
        let plan = Plan::new(groups(20), settings()).unwrap();
        let mut cursor = Cursor::new(&plan, 0);
        let all: Vec<_> = std::iter::from_fn(|| cursor.next(&plan)).collect();
        assert_eq!(all.len(), 40);
        let first: Vec<Item> = all[..20].iter().map(|x| x.0).collect();
        let second: Vec<Item> = all[20..].iter().map(|x| x.0).collect();
        assert_ne!(first, second);
        assert_eq!(first, Plan::new(groups(20), settings()).unwrap().epoch_items(0));
        assert_ne!(first, Plan::new(groups(20), PlanSettings { seed: Some(8), ..settings() }).unwrap().epoch_items(0));
        assert_eq!(cursor.next_epoch(), 2);
    }

    #[test]
    fn pieces_are_numbered_across_all_files() {
        // files 0..3 with 2, 0 and 3 row groups; file 0 was pruned before selecting
        let counts = [2, 0, 3];
        let kept = vec![
            RowGroup { file: 2, row_group: 0 },
            RowGroup { file: 2, row_group: 1 },
            RowGroup { file: 2, row_group: 2 },
        ];
        let chosen = select_pieces(kept.clone(), &counts, &[1, 3, 4]).unwrap();
        assert_eq!(chosen, vec![RowGroup { file: 2, row_group: 1 }, RowGroup { file: 2, row_group: 2 }]);
        assert!(select_pieces(kept.clone(), &counts, &[]).unwrap().is_empty());
        let e = select_pieces(kept, &counts, &[5]).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Value);
        assert!(e.message().contains("no row group 5"), "{}", e.message());
    }

    #[test]
    fn row_drop_partitions_multiply_items() {
        let plan = Plan::new(groups(3), PlanSettings { row_drop_partitions: 4, shuffle: false, ..settings() }).unwrap();
        assert_eq!(plan.items.len(), 12);
        assert_eq!(plan.items[5], Item { file: 0, row_group: 1, part: 1, parts: 4 });
    }
}
