//! Test plugin: exports `baton:plugin/meta@9.0.0`, a contract version no
//! host runs yet. Uploading it must fail with a message naming 9.0.0 and
//! the supported versions.

#![allow(unsafe_code, unreachable_pub)]

wit_bindgen::generate!({
    path: "wit",
    world: "tomorrow",
});

struct Future;

impl exports::baton::plugin::meta::Guest for Future {
    fn describe() -> String {
        "from the future".into()
    }
}

export!(Future);
