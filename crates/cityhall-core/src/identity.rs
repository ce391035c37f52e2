//! Accounts (tài khoản), roles (vai trò) and the identity facts parsed at the edge:
//! usernames, phone numbers, email addresses, national ID numbers (số CCCD), passwords.

use serde::{Deserialize, Serialize};

/// Why an input was refused; `key` names the translated message shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}")]
pub struct Invalid {
    pub key: &'static str,
}

fn invalid<T>(key: &'static str) -> Result<T, Invalid> {
    Err(Invalid { key })
}

/// A role. Staff roles are scoped to an agency where that makes sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Công dân / doanh nghiệp: a resident or business.
    Citizen,
    /// Cán bộ: an officer of one agency.
    Officer,
    /// Quản trị cơ quan: administers one agency's users.
    AgencyAdmin,
    /// Quản trị thành phố: administers the whole platform.
    CityAdmin,
    /// Kiểm toán: reads the audit log.
    Auditor,
    /// Điện thoại viên 1022: files feedback for callers and looks reports up.
    Operator,
    /// Lãnh đạo đơn vị: a unit's escalation target for overdue feedback.
    Supervisor,
    /// Người công bố dữ liệu: publishes one agency's open datasets.
    Publisher,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Citizen,
        Role::Officer,
        Role::AgencyAdmin,
        Role::CityAdmin,
        Role::Auditor,
        Role::Operator,
        Role::Supervisor,
        Role::Publisher,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Citizen => "citizen",
            Role::Officer => "officer",
            Role::AgencyAdmin => "agency_admin",
            Role::CityAdmin => "city_admin",
            Role::Auditor => "auditor",
            Role::Operator => "operator",
            Role::Supervisor => "supervisor",
            Role::Publisher => "publisher",
        }
    }

    pub fn parse(s: &str) -> Result<Role, Invalid> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or(Invalid { key: "err-role" })
    }

    /// Whether the role must name the agency it acts for.
    pub fn needs_agency(self) -> bool {
        matches!(
            self,
            Role::Officer | Role::AgencyAdmin | Role::Supervisor | Role::Publisher
        )
    }

    /// Staff roles must use a second factor once they have enrolled one, and are created
    /// by admins rather than by sign-up.
    pub fn is_staff(self) -> bool {
        !matches!(self, Role::Citizen)
    }
}

/// How sure the city is that an account belongs to the person it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assurance {
    /// No national ID given.
    None,
    /// A national ID typed at sign-up, not checked.
    Claimed,
    /// Checked at a desk by an officer or by the configured identity provider.
    Verified,
}

impl Assurance {
    pub fn as_str(self) -> &'static str {
        match self {
            Assurance::None => "none",
            Assurance::Claimed => "claimed",
            Assurance::Verified => "verified",
        }
    }
    pub fn parse(s: &str) -> Assurance {
        match s {
            "verified" => Assurance::Verified,
            "claimed" => Assurance::Claimed,
            _ => Assurance::None,
        }
    }
}

/// A login name: 3–64 of lowercase letters, digits, `.`, `_`, `-`, `@`, `+`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Username(String);

impl Username {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim().to_lowercase();
        if s.len() < 3 || s.len() > 64 {
            return invalid("err-username");
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-@+".contains(c))
        {
            return invalid("err-username");
        }
        Ok(Username(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Vietnamese mobile number, normalised to `0` + 9 digits (accepts `+84…`, spaces, dots).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let digits: String = s
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')'))
            .collect();
        let local = if let Some(rest) = digits.strip_prefix("+84") {
            format!("0{rest}")
        } else if let Some(rest) = digits.strip_prefix("84").filter(|r| r.len() == 9) {
            format!("0{rest}")
        } else {
            digits
        };
        if local.len() == 10
            && local.starts_with('0')
            && local.bytes().all(|b| b.is_ascii_digit())
            && matches!(local.as_bytes()[1], b'3' | b'5' | b'7' | b'8' | b'9')
        {
            Ok(PhoneNumber(local))
        } else {
            invalid("err-phone")
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The international form for SMS gateways.
    pub fn e164(&self) -> String {
        format!("+84{}", &self.0[1..])
    }
}

/// An email address, checked for shape only (a confirmation proves the rest).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim().to_lowercase();
        let Some((local, domain)) = s.split_once('@') else {
            return invalid("err-email");
        };
        if local.is_empty()
            || domain.len() < 3
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || s.len() > 254
            || s.chars().any(|c| c.is_whitespace() || c == '<' || c == '>')
            || domain.contains('@')
        {
            return invalid("err-email");
        }
        Ok(Email(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How a resident can be reached: a phone number or an email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    Phone(PhoneNumber),
    Email(Email),
}

impl Contact {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        if s.contains('@') {
            Email::parse(s).map(Contact::Email)
        } else {
            PhoneNumber::parse(s)
                .map(Contact::Phone)
                .map_err(|_| Invalid { key: "err-contact" })
        }
    }
    pub fn as_str(&self) -> &str {
        match self {
            Contact::Phone(p) => p.as_str(),
            Contact::Email(e) => e.as_str(),
        }
    }
}

/// A citizen identity card number (số định danh cá nhân / CCCD): 12 digits — province of
/// birth registration (3), century and sex (1), year of birth (2), serial (6).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NationalId(String);

impl NationalId {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s: String = s.trim().chars().filter(|c| *c != ' ').collect();
        if s.len() != 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return invalid("err-national-id");
        }
        let province: u32 = s[..3].parse().unwrap_or(0);
        if province == 0 || province > 96 {
            return invalid("err-national-id");
        }
        Ok(NationalId(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The last four digits, shown to help a person recognise their own number.
    pub fn hint(&self) -> String {
        format!("••••••••{}", &self.0[8..])
    }
}

// National ID numbers are personal data: never print them whole by accident.
impl std::fmt::Debug for NationalId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NationalId({})", self.hint())
    }
}

/// A full name as the person writes it (Vietnamese letters allowed), 1–120 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullName(String);

impl FullName {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
        let n = s.chars().count();
        if n == 0 || n > 120 || s.chars().any(|c| c.is_control() || "<>{}".contains(c)) {
            return invalid("err-full-name");
        }
        Ok(FullName(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: 10–256 characters, not all one class of character. Long passphrases
/// beat composition rules; we only refuse the weakest.
pub fn check_new_password(p: &str) -> Result<(), Invalid> {
    let n = p.chars().count();
    if n < 10 {
        return invalid("err-password-short");
    }
    if n > 256 {
        return invalid("err-password-long");
    }
    let first = p.chars().next().unwrap_or(' ');
    if p.chars().all(|c| c == first) {
        return invalid("err-password-weak");
    }
    Ok(())
}

/// Failed sign-ins allowed inside the window before the account is locked.
pub const MAX_LOGIN_FAILURES: i64 = 5;
/// The window in which failures count, and how long a lock lasts, in seconds.
pub const LOGIN_WINDOW_SECS: i64 = 15 * 60;
pub const LOCKOUT_SECS: i64 = 15 * 60;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_normalised() {
        assert_eq!(
            PhoneNumber::parse("+84 912 345 678").unwrap().as_str(),
            "0912345678"
        );
        assert_eq!(
            PhoneNumber::parse("0912.345.678").unwrap().as_str(),
            "0912345678"
        );
        assert_eq!(
            PhoneNumber::parse("84912345678").unwrap().as_str(),
            "0912345678"
        );
        assert_eq!(
            PhoneNumber::parse("0912345678").unwrap().e164(),
            "+84912345678"
        );
        assert!(PhoneNumber::parse("0212345678").is_err());
        assert!(PhoneNumber::parse("12345").is_err());
    }

    #[test]
    fn contacts_are_phone_or_email() {
        assert!(matches!(
            Contact::parse("An@Example.vn"),
            Ok(Contact::Email(_))
        ));
        assert!(matches!(
            Contact::parse("0987654321"),
            Ok(Contact::Phone(_))
        ));
        assert_eq!(Contact::parse("abc").unwrap_err().key, "err-contact");
        assert_eq!(Contact::parse("a@b").unwrap_err().key, "err-email");
    }

    #[test]
    fn national_ids_are_twelve_digits_with_a_province() {
        let id = NationalId::parse("079090000001").unwrap();
        assert_eq!(id.hint(), "••••••••0001");
        assert!(!format!("{id:?}").contains("079090"));
        assert!(NationalId::parse("000090000001").is_err());
        assert!(NationalId::parse("07909000000").is_err());
        assert!(NationalId::parse("07909000000x").is_err());
    }

    #[test]
    fn usernames_and_passwords() {
        assert_eq!(
            Username::parse(" Officer.TuPhap ").unwrap().as_str(),
            "officer.tuphap"
        );
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("tên").is_err());
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("aaaaaaaaaaaa").is_err());
        assert!(check_new_password("cityhall-demo").is_ok());
        assert!(FullName::parse("  Nguyễn   Văn  An ").unwrap().as_str() == "Nguyễn Văn An");
        assert!(FullName::parse("<script>").is_err());
    }

    #[test]
    fn roles_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()).unwrap(), r);
        }
        assert!(Role::parse("root").is_err());
        assert!(Role::Officer.needs_agency());
        assert!(!Role::CityAdmin.needs_agency());
    }
}
