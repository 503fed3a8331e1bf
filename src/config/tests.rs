use super::*;

fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Config::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
}

const OPEN: (&str, &str) = ("OPEN_SESSIONS", "1");

#[test]
fn there_is_no_default_key() {
    let err = config(&[OPEN]).unwrap_err();
    assert_eq!(err, ConfigError::NoKey);
    assert!(err.to_string().contains("LIVENESS_JWT_SECRET"));
}

#[test]
fn defaults_and_bad_values() {
    let c = config(&[("LIVENESS_JWT_SECRET", "x"), OPEN]).unwrap();
    assert_eq!(c.address, "127.0.0.1:5003".parse().unwrap());
    assert_eq!((c.max_frame_bytes, c.idle_timeout), (2 * 1024 * 1024, Duration::from_secs(30)));
    // The age check is the service's to switch on; the stream must come from an encoder whose
    // quality varies, as the page's does.
    assert_eq!((c.min_age, c.require_varying_jpeg), (0, true));
    let err = config(&[("LIVENESS_JWT_SECRET", "x"), OPEN, ("PORT", "http")]).unwrap_err();
    assert!(matches!(err, ConfigError::Invalid { name: "PORT", .. }), "{err}");
    let err = config(&[("LIVENESS_JWT_SECRET", "x"), OPEN, ("ANTISPOOF_THRESHOLD", "1.5")]).unwrap_err();
    assert!(matches!(err, ConfigError::Invalid { name: "ANTISPOOF_THRESHOLD", .. }), "{err}");
    let err = config(&[("JWT_KEY_FILE", "/k"), OPEN, ("JWT_ALGORITHM", "none")]).unwrap_err();
    assert!(matches!(err, ConfigError::Invalid { name: "JWT_ALGORITHM", .. }), "{err}");
}

#[test]
fn every_setting_is_read_documented_and_a_flag() {
    let vars = Vars {
        lookup: |name: &str| match name {
            "LIVENESS_JWT_SECRET" => Some("x".to_string()),
            "OPEN_SESSIONS" => Some("1".to_string()),
            _ => None,
        },
        read: Default::default(),
    };
    Config::read(&vars).unwrap();
    // LOG_FORMAT and RUST_LOG are read by `main`, before the rest, for the logs.
    let mut read: Vec<&str> = vars.read.take();
    read.extend(["LOG_FORMAT", "RUST_LOG"]);
    read.sort_unstable();
    read.dedup();
    let mut documented: Vec<&str> = SETTINGS.iter().map(|s| s.name).collect();
    documented.sort_unstable();
    assert_eq!(read, documented);
    // Every default value is one the setting takes.
    let defaults = |name: &str| {
        (vars.lookup)(name).or_else(|| match setting_named(name).map(|s| s.default) {
            Some(DefaultValue::Value(text)) => Some(text.to_string()),
            _ => None,
        })
    };
    assert!(Config::from_lookup(defaults).is_ok());
    // A flag and its environment variable are one setting.
    let matches = command()
        .try_get_matches_from(["lpserver", "--port", "6001", "--open-sessions=1", "--liveness-jwt-secret", "x"])
        .unwrap();
    let c = Config::from_lookup(|name| matches.get_one::<String>(name).cloned()).unwrap();
    assert_eq!((c.address.port(), c.open_sessions), (6001, true));
    assert!(command().try_get_matches_from(["lpserver", "--no-such-flag"]).is_err());
    let help = command().render_long_help().to_string();
    for s in SETTINGS {
        assert!(help.contains(&s.flag()) && help.contains(&format!("[env: {}]", s.name)), "{}", s.name);
    }
}

#[test]
fn the_readme_holds_the_configuration_table() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = markdown_table();
    assert!(readme.contains(&table), "README.md must hold the table exactly:\n{table}");
}

#[test]
fn errors_name_the_variable_and_what_it_takes() {
    let key = ("LIVENESS_JWT_SECRET", "x");
    let err = config(&[key, OPEN, ("CHALLENGE_LENGTH", "50")]).unwrap_err();
    assert_eq!(err.to_string(), "CHALLENGE_LENGTH=\"50\" is not valid; it takes 1 to 20");
    let err = config(&[key, OPEN, ("MIN_SENSOR_NOISE", "-1")]).unwrap_err();
    assert_eq!(err.to_string(), "MIN_SENSOR_NOISE=\"-1\" is not valid; it takes luma levels, 0 to 255");
    assert!(matches!(config(&[key, OPEN, ("FLASH", "yes")]), Err(ConfigError::Invalid { name: "FLASH", .. })));
    let c = config(&[key, OPEN, ("FLASH", "0"), ("MAX_DUPLICATE_SHARE", "1")]).unwrap();
    assert_eq!((c.flash, c.max_duplicate_share, c.min_sensor_noise), (false, 1.0, 0.0));
    let c = config(&[key, OPEN]).unwrap();
    assert!(c.flash, "the screen flash is on by default");
    assert_eq!(c.prompt_hold, Duration::from_millis(300)..=Duration::from_millis(1000));
    // Without the flash, more movements after longer holds.
    assert_eq!((c.challenge_length, c.challenge_length_without_flash), (3, 5));
    assert_eq!(c.prompt_hold_without_flash, Duration::from_millis(1000)..=Duration::from_millis(2500));
    let err = config(&[key, OPEN, ("NO_FLASH_PROMPT_HOLD_MIN_MS", "3000")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "NO_FLASH_PROMPT_HOLD_MAX_MS=\"2500\" is not valid: it is below NO_FLASH_PROMPT_HOLD_MIN_MS (3000 ms)"
    );
    let err = config(&[key, OPEN, ("PROMPT_HOLD_MIN_MS", "3000")]).unwrap_err();
    assert_eq!(err.to_string(), "PROMPT_HOLD_MAX_MS=\"1000\" is not valid: it is below PROMPT_HOLD_MIN_MS (3000 ms)");
    let err = config(&[key, OPEN, ("PROMPT_HOLD_MAX_MS", "5001")]).unwrap_err();
    assert!(matches!(err, ConfigError::Invalid { name: "PROMPT_HOLD_MAX_MS", .. }), "{err}");
    let c = config(&[key, OPEN, ("PROMPT_HOLD_MIN_MS", "0"), ("PROMPT_HOLD_MAX_MS", "0")]).unwrap();
    assert_eq!(c.prompt_hold, Duration::ZERO..=Duration::ZERO);
    let err = config(&[key, OPEN, ("AGE_BUFFER", "101")]).unwrap_err();
    assert_eq!(err.to_string(), "AGE_BUFFER=\"101\" is not valid; it takes years, 0 to 100");
    assert!(matches!(config(&[key, OPEN, ("AGE_BUFFER", "-1")]), Err(ConfigError::Invalid { name: "AGE_BUFFER", .. })));
    let c = config(&[key, OPEN, ("AGE_BUFFER", "0"), ("MIN_AGE", "21")]).unwrap();
    assert_eq!((c.age_buffer, c.min_age), (0, 21));
    assert_eq!(config(&[key, OPEN]).unwrap().age_buffer, 7, "Challenge 25 at 18");
    let err = config(&[key, OPEN, ("SESSION_TIMEOUT_MS", "20")]).unwrap_err();
    assert_eq!(err.to_string(), "SESSION_TIMEOUT_MS=\"20\" is not valid; it takes milliseconds, 100 or more");
    let err = config(&[OPEN, ("JWT_KEY_FILE", "/no/such/key.pem")]).unwrap_err();
    assert!(matches!(err, ConfigError::Invalid { name: "JWT_KEY_FILE", .. }), "{err}");
    let err = config(&[key, OPEN, ("REDIS_URL", "http://cache:6379")]).unwrap_err();
    assert!(err.to_string().starts_with("REDIS_URL=\"http://cache:6379\" is not valid; it takes redis://"), "{err}");
    assert!(config(&[key, OPEN, ("REDIS_URL", "redis://cache:6379/2")]).is_ok());
    let err = config(&[key, OPEN, ("MAX_SESSIONS", "0")]).unwrap_err();
    assert!(matches!(err, ConfigError::Invalid { name: "MAX_SESSIONS", .. }), "{err}");
    let err = config(&[key, OPEN, ("ANALYSIS_THREADS", "0")]).unwrap_err();
    assert!(matches!(err, ConfigError::Invalid { name: "ANALYSIS_THREADS", .. }), "{err}");
    let threads = config(&[key, OPEN, ("ANALYSIS_THREADS", "3")]).map(|c| c.analysis_threads);
    assert_eq!(threads.ok(), Some(3));
    let err = config(&[key, ("OPEN_SESSIONS", "yes")]).unwrap_err();
    assert_eq!(err.to_string(), "OPEN_SESSIONS=\"yes\" is not valid; it takes 0 or 1");
}

#[test]
fn challenge_names_and_lengths_are_checked_before_the_server_starts() {
    let key = ("LIVENESS_JWT_SECRET", "x");
    let err = config(&[key, OPEN, ("CHALLENGES", "turn_left,jump")]).unwrap_err();
    assert!(matches!(err, ConfigError::Challenges { name: "CHALLENGES", .. }), "{err}");
    assert!(err.to_string().contains("unknown challenge \"jump\" (known: turn_left"), "{err}");
    let err = config(&[key, OPEN, ("CHALLENGE_SEQUENCE", "blink,,wink")]).unwrap_err();
    assert!(matches!(err, ConfigError::Challenges { name: "CHALLENGE_SEQUENCE", .. }), "{err}");
    // Two types cannot fill five places with at most two of each.
    let err = config(&[key, OPEN, ("CHALLENGES", "blink,smile"), ("CHALLENGE_LENGTH", "5")]).unwrap_err();
    assert!(err.to_string().contains("CHALLENGE_LENGTH=5"), "{err}");
    let err = config(&[key, OPEN, ("CHALLENGES", "blink,smile")]).unwrap_err();
    assert!(err.to_string().contains("NO_FLASH_CHALLENGE_LENGTH=5"), "{err}");
    let short = [("CHALLENGE_LENGTH", "3"), ("NO_FLASH_CHALLENGE_LENGTH", "4")];
    assert!(config(&[key, OPEN, ("CHALLENGES", "blink,smile"), short[0], short[1]]).is_ok());
}

#[test]
fn frame_storage_needs_redis_and_admin_tokens_are_long() {
    let key = ("LIVENESS_JWT_SECRET", "x");
    let config = |vars: &[(&str, &str)]| config(&[&[OPEN], vars].concat());
    assert!(!config(&[key]).unwrap().store_frames);
    let err = config(&[key, ("STORE_FRAMES", "1")]).unwrap_err();
    assert!(matches!(err, ConfigError::Invalid { name: "STORE_FRAMES", .. }), "{err}");
    let c = config(&[key, ("STORE_FRAMES", "1"), ("REDIS_URL", "redis://127.0.0.1")]).unwrap();
    assert!(c.store_frames);
    assert_eq!(c.store_ttl_s, 3600);
    assert!(!config(&[key]).unwrap().stats_scores, "no scores in STATS by default");
    assert!(config(&[key, ("STATS_DETAIL", "debug")]).unwrap().stats_scores);
    let err = config(&[key, ("STATS_DETAIL", "verbose")]).unwrap_err();
    assert!(matches!(err, ConfigError::Invalid { name: "STATS_DETAIL", .. }), "{err}");
    let err = config(&[key, ("ADMIN_TOKEN", "short")]).unwrap_err();
    assert!(matches!(err, ConfigError::Invalid { name: "ADMIN_TOKEN", .. }), "{err}");
    assert!(!err.to_string().contains("short"), "the token is not echoed: {err}");
}

#[test]
fn sessions_need_api_keys_or_open_sessions() {
    let key = ("LIVENESS_JWT_SECRET", "x");
    assert_eq!(config(&[key]).unwrap_err(), ConfigError::NoSessions);
    let c = config(&[key, OPEN]).unwrap();
    assert!(c.open_sessions && c.api_keys.is_empty());
    let secret = "0123456789abcdef0123456789abcdef";
    let c = config(&[key, ("API_KEYS", &format!("shop:{secret}, bank-2:{secret}x"))]).unwrap();
    assert!(!c.open_sessions);
    let parties: Vec<&str> = c.api_keys.iter().map(|k| k.party.as_str()).collect();
    assert_eq!(parties, ["shop", "bank-2"]);
    assert!(!format!("{c:?}").contains(secret), "keys are not printed");
    for bad in ["shop:short", "shop", ":0123456789abcdef0123456789abcdef", "a b:0123456789abcdef0123456789abcdef"] {
        let err = config(&[key, ("API_KEYS", bad)]).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { name: "API_KEYS", .. }), "{bad}: {err}");
        assert!(!err.to_string().contains("short"), "the keys are not echoed: {err}");
    }
    let err = config(&[key, ("API_KEYS", &format!("shop:{secret},shop:{secret}y"))]).unwrap_err();
    assert!(err.to_string().contains("once"), "{err}");
    assert_eq!(config(&[key, OPEN]).unwrap().client_token_ttl, Duration::from_secs(120));
    let err = config(&[key, OPEN, ("ALLOWED_ORIGINS", "app.example.com")]).unwrap_err();
    assert!(matches!(err, ConfigError::Invalid { name: "ALLOWED_ORIGINS", .. }), "{err}");
    let c = config(&[key, OPEN, ("ALLOWED_ORIGINS", "https://App.example.com/,*")]).unwrap();
    assert_eq!(c.allowed_origins, ["https://app.example.com", "*"]);
}

#[test]
fn virtual_cameras_match_within_labels_without_letter_case() {
    let key = ("LIVENESS_JWT_SECRET", "a secret of at least thirty-two bytes!");
    let c = config(&[key, OPEN]).unwrap();
    assert_eq!(c.virtual_camera("OBS Virtual Camera (2)"), Some("obs virtual camera"));
    assert_eq!(c.virtual_camera("ManyCam Virtual Webcam"), Some("manycam"));
    assert_eq!(c.virtual_camera("Integrated Webcam (0c45:6a10)"), None);
    assert_eq!(c.virtual_camera("OBSBOT Tiny 2"), None, "a real camera whose name starts like OBS");
    assert_eq!(config(&[key, OPEN, ("VIRTUAL_CAMERAS", "None")]).unwrap().virtual_camera("OBS Virtual Camera"), None);
    assert_eq!(config(&[key, OPEN, ("VIRTUAL_CAMERAS", "My Cam")]).unwrap().virtual_camera("my cam 2"), Some("my cam"));
    let err = config(&[key, OPEN, ("VIRTUAL_CAMERAS", "a\u{7}b")]).unwrap_err();
    assert!(matches!(err, ConfigError::Invalid { name: "VIRTUAL_CAMERAS", .. }), "{err}");
}
