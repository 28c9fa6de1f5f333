using HeapDaemon.Access;
using Microsoft.AspNetCore.Authorization;
using Microsoft.OpenApi;

namespace HeapDaemon.Admin;

/// <summary>
/// The OpenAPI 3.1 document at <c>/openapi/v1.json</c>: every route with its body, answers and errors (from the
/// handlers' <c>Results&lt;…&gt;</c> types), the bearer scheme, and which role each route needs.
/// </summary>
public static class ApiDescription
{
    public const string SecurityScheme = "Bearer";

    public static void AddApiDescription(this IServiceCollection services) =>
        services.AddOpenApi(options =>
        {
            options.OpenApiVersion = OpenApiSpecVersion.OpenApi3_1;
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "HeapDaemon admin API",
                    Version = "v1",
                    Description = "Credentials, feeds, couriers, runs and domain tables. Every route under /api needs " +
                                  "`Authorization: Bearer <token>`: the admin token (Admin:Token) for everything, or a viewer token " +
                                  "(Admin:ViewerTokens) for reads. Every error is a ProblemDetails (application/problem+json) whose " +
                                  "`detail` says what went wrong; `errors` lists each problem with its field path.",
                };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes[SecurityScheme] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    Description = "The admin token (Admin:Token) or a viewer token (Admin:ViewerTokens).",
                };
                return Task.CompletedTask;
            });
            // A property that may be null is left out of an answer when it is (WhenWritingNull), and may be left out of a
            // request: the document must not call it required. Done on the finished document, where nullable references
            // have become oneOf [null, $ref].
            options.AddDocumentTransformer((document, _, _) =>
            {
                foreach (var schema in document.Components?.Schemas?.Values ?? [])
                    if (schema.Required is { Count: > 0 } required && schema.Properties is { } properties)
                        foreach (var name in required.ToList())
                            if (properties.TryGetValue(name, out var property) && MayBeNull(property)) required.Remove(name);
                return Task.CompletedTask;
            });
            options.AddOperationTransformer((operation, context, _) =>
            {
                var policies = context.Description.ActionDescriptor.EndpointMetadata.OfType<IAuthorizeData>().Select(a => a.Policy).ToList();
                if (policies.Count == 0) return Task.CompletedTask;
                operation.Security ??= [];
                operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SecurityScheme, context.Document)] = [] });
                var who = policies.Contains(AccessPolicies.Admin) ? "Needs the admin token." : "The admin token or a viewer token.";
                operation.Description = operation.Description is { Length: > 0 } d ? $"{d}\n\n{who}" : who;
                return Task.CompletedTask;
            });
        });

    private static bool MayBeNull(IOpenApiSchema schema) =>
        schema.Type is { } type && type.HasFlag(JsonSchemaType.Null) ||
        (schema.OneOf ?? []).Concat(schema.AnyOf ?? []).Any(s => s.Type is { } t && t.HasFlag(JsonSchemaType.Null));
}
