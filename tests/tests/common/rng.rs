//! A generator of test inputs: the same inputs for the same seed, no
//! dependency (the fuzz checks and the dump source's mutated lines).

/// SplitMix64.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    pub fn char(&mut self) -> char {
        loop {
            let cp = match self.below(6) {
                0 => self.below(0x20) as u32,
                1 | 2 => 0x20 + self.below(0x60) as u32,
                3 => self.below(0x800) as u32,
                4 => self.below(0x10000) as u32,
                _ => self.below(0x110000) as u32,
            };
            if let Some(c) = char::from_u32(cp) {
                return c;
            }
        }
    }
    pub fn text(&mut self, max: usize) -> String {
        let special = [
            "'", "\"", "\\", "\n", "\u{85}", "\u{2028}", "😀", "e\u{301}",
        ];
        (0..self.below(max + 1))
            .map(|_| {
                if self.chance(15) {
                    self.pick(&special).to_string()
                } else {
                    self.char().to_string()
                }
            })
            .collect()
    }
}
