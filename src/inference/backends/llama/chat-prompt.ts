/**
 * Renders chat messages with the model's own chat template (read from the GGUF's
 * tokenizer.chat_template; node-llama-cpp maps well-known templates to exact wrappers and runs
 * others as Jinja). A model without a template gets node-llama-cpp's fallback (Llama-2 chat
 * format). The wrapper's stop triggers become stop strings and stop tokens of the generation.
 */
import { resolveChatWrapper, type ChatHistoryItem, type ChatWrapper, type LlamaModel, type LlamaText } from 'node-llama-cpp';
import type { ChatMessage } from '../../types.js';

export interface RenderedPrompt {
  tokens: number[];
  /** Text that ends the assistant's turn (hidden from the client). */
  stopStrings: string[];
  /** Tokens that end the turn besides the model's end-of-generation tokens. */
  stopTokens: number[];
}

export class ChatPrompt {
  private readonly wrapper: ChatWrapper;

  constructor(private readonly model: LlamaModel) {
    this.wrapper = resolveChatWrapper(model);
  }

  get templateName(): string {
    return this.wrapper.wrapperName;
  }

  render(messages: readonly ChatMessage[]): RenderedPrompt {
    const history: ChatHistoryItem[] = [];
    for (const message of messages) {
      if (message.role === 'system' || message.role === 'developer') history.push({ type: 'system', text: message.content });
      else if (message.role === 'user') history.push({ type: 'user', text: message.content });
      else history.push({ type: 'model', response: [message.content] });
    }
    // An empty model turn at the end is where the assistant's answer is generated.
    history.push({ type: 'model', response: [] });
    const state = this.wrapper.generateContextState({ chatHistory: history });
    const tokens = Array.from(state.contextText.tokenize(this.model.tokenizer));
    const stopStrings: string[] = [];
    const stopTokens: number[] = [];
    for (const trigger of state.stopGenerationTriggers) this.collectStop(trigger, stopStrings, stopTokens);
    return { tokens, stopStrings, stopTokens };
  }

  private collectStop(trigger: LlamaText, strings: string[], tokens: number[]): void {
    const values = trigger.values;
    if (values.length === 1 && typeof values[0] !== 'string') {
      const value = values[0] as { type?: string; value?: string };
      if (value.type === 'specialTokensText' && value.value) {
        const ids = this.model.tokenize(value.value, true);
        if (ids.length === 1) tokens.push(ids[0]);
        else strings.push(value.value);
      }
      // A named special token (EOS, EOT) is an end-of-generation token already.
      return;
    }
    if (values.every((v) => typeof v === 'string')) {
      const text = values.join('');
      if (text) strings.push(text);
    }
  }
}
