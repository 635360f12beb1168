import { Uploadgate, type UploadgateOptions } from "@uploadgate/client";
import { type ReactNode, createContext, useCallback, useContext, useState } from "react";

const Context = createContext<Uploadgate | undefined>(undefined);

export interface UploadgateProviderProps {
  /** A client made elsewhere; or the options to make one. */
  client?: Uploadgate;
  options?: UploadgateOptions;
  children?: ReactNode;
}

/**
 * Gives the hooks and components below it one `Uploadgate` client. Making the
 * client touches no browser API, so this renders on a server too. `options`
 * are read once: the client, and the uploads it runs, outlive re-renders.
 */
export function UploadgateProvider({ client, options, children }: UploadgateProviderProps) {
  const [made] = useState(() => (client || !options ? undefined : new Uploadgate(options)));
  const value = client ?? made;
  if (!value) throw new Error("UploadgateProvider needs a client or options");
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

/**
 * The client given as `client`, or the nearest provider's, looked up when it
 * is needed: a control handed shared uploads never needs one of its own.
 */
export function useClientLater(client?: Uploadgate): () => Uploadgate {
  const provided = useContext(Context);
  const found = client ?? provided;
  return useCallback(() => {
    if (!found) throw new Error("no uploadgate client: wrap the tree in <UploadgateProvider> or pass `client`");
    return found;
  }, [found]);
}

/** The client given as `client`, or the nearest provider's. */
export function useUploadgate(client?: Uploadgate): Uploadgate {
  const provided = useContext(Context);
  const found = client ?? provided;
  if (!found) throw new Error("no uploadgate client: wrap the tree in <UploadgateProvider> or pass `client`");
  return found;
}
