fn main() {
    // Where an installed plugin looks for its models when neither the `model-location`
    // property nor LIVENESS_MODEL_DIR says otherwise; meson sets it to the install datadir.
    println!("cargo:rerun-if-env-changed=LIVENESS_INSTALLED_MODEL_DIR");
    println!("cargo:rerun-if-env-changed=LIVENESS_INSTALLED_ORT");
    gst_plugin_version_helper::info()
}
