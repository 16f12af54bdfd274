//! `iris serve`: start the server on the embedded default storage.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use iris::AppState;
use iris::config::Config;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "iris",
    version,
    about = "Elasticsearch-compatible hybrid image search server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the HTTP server.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "IRIS_LISTEN")]
        listen: Option<String>,
        /// Data folder.
        #[arg(long, env = "IRIS_DATA")]
        data: Option<PathBuf>,
        /// JSON configuration file (see README).
        #[arg(long, env = "IRIS_CONFIG")]
        config: Option<PathBuf>,
        /// Largest accepted request body in bytes.
        #[arg(long, env = "IRIS_MAX_CONTENT_LENGTH_BYTES")]
        max_content_length_bytes: Option<u64>,
    },
    /// Prints benchmark figures as JSON lines.
    Bench {
        #[command(subcommand)]
        kind: BenchKind,
    },
}

#[derive(Subcommand)]
enum BenchKind {
    /// `_bulk` docs/s and `_search` QPS with p50/p99 latency over HTTP.
    Http {
        /// Server to measure (`host:port`); by default Iris starts its own on a free port
        /// with a temporary data folder.
        #[arg(long)]
        address: Option<String>,
        #[arg(long, default_value_t = 100_000)]
        docs: usize,
        #[arg(long, default_value_t = 1_000)]
        batch: usize,
        #[arg(long, default_value_t = 2_000)]
        queries: usize,
        #[arg(long, value_delimiter = ',', default_value = "1,8")]
        concurrency: Vec<usize>,
        /// Adds a cosine `dense_vector` of this many dimensions to every document and a
        /// kNN query (k 10, num_candidates 100) to the searches.
        #[arg(long, default_value_t = 0)]
        vector_dims: usize,
        /// Takes document vectors from this TEXMEX `.fvecs` file (row n for document n)
        /// instead of random unit vectors, so the figures compare with `iris bench knn`.
        #[arg(long, requires = "vectors_queries")]
        vectors_base: Option<std::path::PathBuf>,
        /// kNN query vectors for `--vectors-base` (`.fvecs`, used in turn).
        #[arg(long, requires = "vectors_base")]
        vectors_queries: Option<std::path::PathBuf>,
        /// Gives every document an image from this folder (base64, in turn), embedded at
        /// ingest by a default pipeline (`efficientnet-lite0` and its text-space endpoint),
        /// and adds a text-to-image kNN query built by `minilm-l6-v2`.
        #[arg(long)]
        images: Option<std::path::PathBuf>,
        /// Gives every document random unit `image_vec` (1280-d) and `text_space` (384-d)
        /// vectors, and times a fused query (BM25 on the caption + kNN on both fields) as an
        /// `rrf` retriever, as `query` + `knn`, and as an OpenSearch `hybrid` query, beside
        /// each of its three parts alone.
        #[arg(long, conflicts_with = "images")]
        fusion: bool,
    },
    /// Vector search recall@k, QPS and latency per ef_search on TEXMEX files (see
    /// bench/README.md; bench/peers.py prints the same lines for faiss and hnswlib).
    Knn(KnnArgs),
    /// Image embedding throughput, end to end and per stage (decode, preprocess, inference),
    /// one line per batch size.
    Embed(EmbedArgs),
}

#[derive(clap::Args)]
struct EmbedArgs {
    /// Folder of images to embed (JPEG, PNG, WebP, GIF, BMP, TIFF).
    #[arg(long)]
    images: PathBuf,
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    batch: Vec<usize>,
    /// Endpoint id (a model_id that accepts images).
    #[arg(long, default_value = "efficientnet-lite0")]
    model: String,
    /// Folder of model folders.
    #[arg(long, env = "IRIS_MODELS", default_value = "models")]
    models: PathBuf,
    /// ONNX Runtime library (default: <models>/runtime/libonnxruntime.so*).
    #[arg(long)]
    onnxruntime: Option<PathBuf>,
    /// ONNX Runtime intra-op threads.
    #[arg(long, default_value_t = Config::default().inference_threads)]
    threads: usize,
    /// Images embedded per batch size at least (the folder is cycled through).
    #[arg(long, default_value_t = 64)]
    min_images: usize,
}

#[derive(clap::Args)]
struct KnnArgs {
    /// Base vectors (.fvecs).
    #[arg(long)]
    base: PathBuf,
    /// Query vectors (.fvecs).
    #[arg(long)]
    queries: PathBuf,
    /// Exact neighbour ids of each query (.ivecs, base row numbers).
    #[arg(long)]
    groundtruth: PathBuf,
    #[arg(long, default_value_t = 10)]
    k: usize,
    #[arg(long, value_enum, default_value = "cosine")]
    metric: KnnMetric,
    #[arg(long, default_value_t = 16)]
    m: usize,
    #[arg(long, default_value_t = 200)]
    ef_construction: usize,
    #[arg(long, value_delimiter = ',', default_value = "10,16,24,32,48,64,96,128")]
    ef_search: Vec<usize>,
    #[arg(long, value_enum, default_value = "none")]
    quantization: KnnQuantization,
    /// Search threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Graph build threads (default: all cores).
    #[arg(long)]
    build_threads: Option<usize>,
    /// Passes over the queries per ef; QPS is the best pass.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Queries also answered by exact search (one extra line, ef 0); 0 skips it.
    #[arg(long, default_value_t = 100)]
    exact_queries: usize,
    /// Keep the index files in this folder instead of a temporary one.
    #[arg(long)]
    folder: Option<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum KnnMetric {
    Cosine,
    Dot,
    L2,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum KnnQuantization {
    None,
    Int8,
    Binary,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("IRIS_LOG").unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            listen,
            data,
            config,
            max_content_length_bytes,
        } => {
            let mut base = match config {
                Some(path) => Config::from_file(&path)?,
                None => Config::default(),
            };
            let env: HashMap<String, String> = std::env::vars().collect();
            if let Some(listen) = listen {
                base.listen = listen;
            }
            if let Some(data) = data {
                base.data = data;
            }
            if let Some(limit) = max_content_length_bytes {
                base.max_content_length_bytes = limit;
            }
            let validated = base.validate(&env)?;
            serve(validated.config, validated.listen).await
        }
        Command::Bench {
            kind:
                BenchKind::Http {
                    address,
                    docs,
                    batch,
                    queries,
                    concurrency,
                    vector_dims,
                    vectors_base,
                    vectors_queries,
                    images,
                    fusion,
                },
        } => {
            let options = iris::bench::HttpBenchOptions {
                address: address.unwrap_or_default(),
                documents: docs,
                batch_size: batch,
                queries,
                concurrency,
                index: "bench-photos".into(),
                vector_dims,
                vector_files: vectors_base.zip(vectors_queries),
                images,
                fusion,
            };
            bench_http(options).await
        }
        Command::Bench {
            kind: BenchKind::Knn(arguments),
        } => bench_knn(arguments).await,
        Command::Bench {
            kind: BenchKind::Embed(arguments),
        } => bench_embed(arguments).await,
    }
}

async fn bench_embed(arguments: EmbedArgs) -> anyhow::Result<()> {
    let EmbedArgs {
        images,
        batch,
        model,
        models,
        onnxruntime,
        threads,
        min_images,
    } = arguments;
    let options = iris::bench::embed::EmbedBenchOptions {
        images,
        batch_sizes: batch,
        model,
        models_dir: models,
        onnxruntime,
        inference_threads: threads,
        max_pixels: Config::default().image_fetch.max_pixels,
        min_images,
    };
    tokio::task::spawn_blocking(move || iris::bench::embed::run_embed(&options)).await??;
    Ok(())
}

async fn bench_knn(arguments: KnnArgs) -> anyhow::Result<()> {
    use iris::vector::{Quantization, Similarity};
    let KnnArgs {
        base,
        queries,
        groundtruth,
        k,
        metric,
        m,
        ef_construction,
        ef_search,
        quantization,
        threads,
        build_threads,
        repeat,
        exact_queries,
        folder,
    } = arguments;
    let options = iris::bench::knn::KnnBenchOptions {
        base,
        queries,
        groundtruth,
        k,
        similarity: match metric {
            KnnMetric::Cosine => Similarity::Cosine,
            KnnMetric::Dot => Similarity::DotProduct,
            KnnMetric::L2 => Similarity::L2Norm,
        },
        m,
        ef_construction,
        ef_search,
        quantization: match quantization {
            KnnQuantization::None => Quantization::None,
            KnnQuantization::Int8 => Quantization::Int8,
            KnnQuantization::Binary => Quantization::Binary,
        },
        threads,
        build_threads: build_threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |count| count.get())),
        repeat,
        exact_queries,
        folder,
    };
    tokio::task::spawn_blocking(move || iris::bench::knn::run_knn(&options)).await??;
    Ok(())
}

/// Runs `iris bench http`; an empty `options.address` starts Iris in this process.
async fn bench_http(mut options: iris::bench::HttpBenchOptions) -> anyhow::Result<()> {
    // Without --address, measure a fresh Iris in this process, on a temporary folder.
    let mut scratch = None;
    options.address = match options.address.as_str() {
        "" => {
            let folder = std::env::temp_dir().join(format!("iris-bench-{}", std::process::id()));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let local = listener.local_addr()?.to_string();
            let config = Config {
                data: folder.clone(),
                listen: local.clone(),
                ..Config::default()
            };
            let state = tokio::task::spawn_blocking(move || AppState::open(config))
                .await?
                .map_err(|error| anyhow::anyhow!("cannot open data folder: {error}"))?;
            state.start_background_tasks();
            tokio::spawn(async move { axum::serve(listener, iris::app(state)).await });
            scratch = Some(folder);
            local
        }
        given => given.to_string(),
    };
    let outcome = tokio::task::spawn_blocking(move || iris::bench::run_http(&options)).await?;
    if let Some(folder) = scratch {
        let _ = std::fs::remove_dir_all(folder);
    }
    outcome.map(|_| ())
}

async fn serve(config: Config, listen: std::net::SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let mut config = config;
    config.listen = listener.local_addr()?.to_string();
    let state = tokio::task::spawn_blocking(move || AppState::open(config))
        .await?
        .map_err(|error| anyhow::anyhow!("cannot open data folder: {error}"))?;
    state.start_background_tasks();
    tracing::info!(address = %listener.local_addr()?, "iris is listening");
    let app = iris::app(state.clone());
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("shutting down: committing indices");
    tokio::task::spawn_blocking(move || state.shutdown()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for ctrl-c");
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => tracing::error!(%error, "cannot listen for SIGTERM"),
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
