//! `ward-wrap-component IN.wasm OUT.wasm`: wraps a WASI preview1 command module into a WASI 0.2
//! command component with the preview1 adapter (the command flavour, from
//! `wasi-preview1-component-adapter-provider`), using `wit-component`'s `ComponentEncoder`.

use anyhow::{Context, Result, bail};
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
};
use wit_component::ComponentEncoder;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, output] = args.as_slice() else {
        bail!("usage: ward-wrap-component IN.wasm OUT.wasm");
    };
    let module = std::fs::read(input).with_context(|| format!("failed to read {input}"))?;
    let component = ComponentEncoder::default()
        .validate(true)
        .module(&module)
        .with_context(|| format!("{input} is not a module the encoder takes"))?
        .adapter(
            WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
        )
        .context("the preview1 adapter")?
        .encode()
        .with_context(|| format!("failed to wrap {input}"))?;
    std::fs::write(output, component).with_context(|| format!("failed to write {output}"))?;
    Ok(())
}
