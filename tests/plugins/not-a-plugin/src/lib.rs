//! Test plugin: a well-formed WebAssembly component that implements none of
//! Baton's worlds, to check that the host rejects it at upload. It uses
//! wit-bindgen directly with a world of its own instead of baton-sdk.

/// The generated glue and its export are unsafe FFI code.
#[allow(unsafe_code)]
mod bindings {
    wit_bindgen::generate!({
        inline: "
            package test:other;

            world other {
                export hello: func() -> string;
            }
        ",
    });

    use super::NotAPlugin;
    export!(NotAPlugin);
}

struct NotAPlugin;

impl bindings::Guest for NotAPlugin {
    fn hello() -> String {
        "hello from a component that is not a Baton plugin".to_owned()
    }
}
