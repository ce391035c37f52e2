//! Text folding for search: lowercase and without Vietnamese diacritics, so
//! "dang ky khai sinh" matches "Đăng ký khai sinh".

/// Lowercases and removes diacritics from Vietnamese (and common Latin) letters.
pub fn fold(s: &str) -> String {
    s.chars()
        .flat_map(|c| c.to_lowercase())
        .map(base_letter)
        .collect()
}

fn base_letter(c: char) -> char {
    const GROUPS: [(&str, char); 7] = [
        ("àáảãạăằắẳẵặâầấẩẫậäå", 'a'),
        ("èéẻẽẹêềếểễệë", 'e'),
        ("ìíỉĩịïî", 'i'),
        ("òóỏõọôồốổỗộơờớởỡợöø", 'o'),
        ("ùúủũụưừứửữựüû", 'u'),
        ("ỳýỷỹỵÿ", 'y'),
        ("đ", 'd'),
    ];
    if c.is_ascii() {
        return c;
    }
    GROUPS
        .iter()
        .find(|(set, _)| set.contains(c))
        .map(|(_, b)| *b)
        .unwrap_or(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_vietnamese() {
        assert_eq!(fold("Đăng ký khai sinh"), "dang ky khai sinh");
        assert_eq!(fold("PHƯỜNG BẾN THÀNH"), "phuong ben thanh");
        assert_eq!(fold("Sở Tư pháp"), "so tu phap");
        assert_eq!(
            fold("Ủy ban nhân dân Phường Sài Gòn"),
            "uy ban nhan dan phuong sai gon"
        );
    }
}
