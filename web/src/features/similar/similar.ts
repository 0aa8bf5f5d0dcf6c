/** "Find similar" and the prompt map (pure): how similarity reads, and what to say when there is none. */
import { isProblem } from "../../api/problem";

/** Cosine similarity (-1 to 1) as a bar's share, 0 to 1: below zero is no likeness at all. */
export function similarityShare(similarity: number): number {
  if (!Number.isFinite(similarity)) return 0;
  return Math.min(Math.max(similarity, 0), 1);
}

/** `87%`, `100%`, `<1%`; negative similarities read 0%. */
export function similarityPercent(similarity: number): string {
  const share = similarityShare(similarity);
  if (share > 0 && share < 0.005) return "<1%";
  return `${Math.round(share * 100)}%`;
}

/** What "similar" means with this embedder: the default `hashed` (named `hashed-v1`, …) compares words, not meaning. */
export function embedderNote(embedder: string | null | undefined): string | null {
  return embedder && /^hashed(\b|-|$)/.test(embedder) ? "similar wording, not meaning" : null;
}

export interface Explained {
  title: string;
  text: string;
}

/** The 409 and 422 answers of the embedding routes, said so a person knows what to do; null for others. */
export function explainEmbeddingProblem(error: unknown): Explained | null {
  if (isProblem(error, 409)) {
    return {
      title: "Embeddings are off",
      text: "Set `embeddings.enabled: true` in Glassgate's configuration (the default `hashed` embedder needs no model) and restart; calls made after that are embedded in the background.",
    };
  }
  if (isProblem(error, 422)) {
    return {
      title: "Nothing to compare",
      text: error.detail
        ? `This call has no prompt text to compare (${error.detail}).`
        : "This call has no prompt text to compare.",
    };
  }
  return null;
}
